"""Issue 27, defect 3: every figure goes through the size rule, the all-heads grid included, and a
head selector for hundreds of heads is a number box, not a radio.

Before: ``head_weights_figure`` sent every head's weights as one raw heatmap (1,024 tokens × 8 heads:
one 47 MB chart; 128 tokens × 768 heads: 72 MB), and 64 tokens × 768 heads gave a "Head" radio of
768 options.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from attention_core import run_lab
from attention_core.serialize import config_from_query
from tests.test_hostile import open_link
from ui.figures import MAX_CELLS_AS_HEATMAP, head_weights_figure, shrink, tile_shrink


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def all_heads(at: object) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id and "all_heads" in c.proto.id]
    return json.loads(chart.proto.spec)


def picture_pixels(spec: dict) -> int:
    rows, cols = spec["data"][0]["meta"]["shape"]
    return rows * cols


@pytest.mark.parametrize(("tokens", "dim", "heads"), [(64, 768, 768), (300, 16, 8)])
def test_the_all_heads_figure_is_bounded(tokens: int, dim: int, heads: int) -> None:
    link = {"s": words(tokens), "dm": str(dim), "dk": str(dim), "dv": str(dim), "h": str(heads)}
    at = open_link(link)
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["n_heads"] == heads
    spec = all_heads(at)
    assert spec["data"][0]["type"] == "image"  # a picture, not a heatmap of every weight
    assert picture_pixels(spec) <= MAX_CELLS_AS_HEATMAP
    assert len(json.dumps(spec)) < 1_000_000  # the whole chart, as sent
    # The picture keeps the heatmap's x units: tile h starts at h·(n_k + 1), so a click finds its head.
    data = spec["data"][0]
    s = tile_shrink(heads, tokens, tokens)
    assert data["dx"] * (-(-tokens // s) + 1) == pytest.approx(tokens + 1)


def test_hundreds_of_heads_are_chosen_with_a_number_box() -> None:
    at = open_link({"s": words(64), "dm": "768", "dk": "768", "dv": "768", "h": "768"})
    assert not at.exception
    assert not [r for r in at.radio if r.key == "head_shown"]
    box = at.number_input(key="head_shown")
    assert (box.min, box.max) == (0, 767)
    box.set_value(700).run()
    assert not at.exception
    assert at.session_state["head_shown"] == 700
    # Fewer heads afterwards: the choice is brought inside the new limit before the widget is drawn.
    at.selectbox(key="n_heads").set_value(8).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="head_shown").value == 7


def test_a_few_heads_keep_their_heatmap_and_radio() -> None:
    at = open_link({"h": "4"})
    assert not at.exception
    spec = all_heads(at)
    assert spec["data"][0]["type"] == "heatmap"
    assert at.radio(key="head_shown").options == ["0", "1", "2", "3"]


def test_shrink_is_the_mean_of_each_block() -> None:
    w = np.arange(20, dtype=np.float64).reshape(4, 5)
    got = shrink(w, 2)
    assert got.shape == (2, 3)
    assert got[0, 0] == np.mean([0, 1, 5, 6])
    assert got[1, 2] == np.mean([14, 19])  # the last, partial block: its own cells only


def test_head_weights_figure_of_a_long_sentence_stays_small() -> None:
    trace = run_lab(config_from_query({"s": words(1024), "dm": "8", "dk": "8", "dv": "8", "h": "8"})[0])
    spec = head_weights_figure(trace)
    assert spec["data"][0]["type"] == "image"
    assert picture_pixels(spec) <= MAX_CELLS_AS_HEATMAP
    assert len(spec["data"][0]["source"]) < 200_000  # was a 47 MB chart
