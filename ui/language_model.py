"""Helpers of the Language model page: heads as labels, the link, the grid's clicks, the bar charts.

No model arithmetic here: numbers come from :mod:`attention_core.pretrained.smollm2`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import streamlit as st

from attention_core.lab import MAX_SENTENCE_CHARS
from attention_core.pretrained import smollm2
from ui.figures import FigureSpec, head_grid, plotly_text

Head = tuple[int, int]
N_LAYERS, N_HEADS, GROUP = 30, 9, 3
#: Every head as the multiselect shows it, in order.
HEAD_LABELS: tuple[str, ...] = tuple(f"L{l} H{h}" for l in range(N_LAYERS) for h in range(N_HEADS))
#: Session keys (all start with "lm_", the page's own).
PROMPT, ABLATE, SCALES, LAYER, HEAD, CLICK_MODE, GRID_GEN, URL_DONE, MESSAGES, GENERATED = (
    "lm_prompt", "lm_ablate", "lm_scales", "lm_layer", "lm_head", "lm_click_mode", "lm_grid_gen", "lm_url_loaded",
    "lm_url_messages", "lm_generated")
CLICK_OPENS, CLICK_KNOCKS = "opens it below", "knocks it out (or brings it back)"
#: Longest prompt a link may carry.
MAX_LINK_PROMPT = 2000


def head_label(head: Head) -> str:
    return f"L{head[0]} H{head[1]}"


def label_head(label: str) -> Head:
    layer, head = label.split()
    return int(layer[1:]), int(head[1:])


def parse_ablate_param(value: str) -> tuple[list[Head], list[str]]:
    """``"23.3,1.5"`` -> [(23, 3), (1, 5)], and what was ignored (never raises)."""
    heads: list[Head] = []
    bad: list[str] = []
    for part in str(value).split(",")[:N_LAYERS * N_HEADS]:
        part = part.strip()
        if not part:
            continue
        layer, sep, head = part.partition(".")
        if sep and layer.isdigit() and head.isdigit() and int(layer) < N_LAYERS and int(head) < N_HEADS:
            if (int(layer), int(head)) not in heads:
                heads.append((int(layer), int(head)))
        else:
            bad.append(part[:20])
    message = (f"ignored in 'lm_ablate': {', '.join(bad)} (a head is layer.head, layer 0-{N_LAYERS - 1}, "
               f"head 0-{N_HEADS - 1})")
    messages = [message] if bad else []
    return sorted(heads), messages


def format_ablate(heads: Iterable[Head]) -> str:
    return ",".join(f"{l}.{h}" for l, h in sorted(heads))


def load_link_once(default_prompt: str) -> None:
    """On the page's first run, take ``lm_prompt`` and ``lm_ablate`` from the link; never fail."""
    st.session_state.setdefault(PROMPT, default_prompt)
    st.session_state.setdefault(ABLATE, [])
    st.session_state.setdefault(SCALES, {})
    st.session_state.setdefault(GRID_GEN, 0)
    if st.session_state.get(URL_DONE):
        return
    st.session_state[URL_DONE] = True
    messages = []
    prompt = st.query_params.get("lm_prompt")
    if prompt is not None:
        if 0 < len(prompt) <= min(MAX_LINK_PROMPT, MAX_SENTENCE_CHARS) and "\x00" not in prompt:
            st.session_state[PROMPT] = prompt
        else:
            messages.append(f"ignored 'lm_prompt': it must be 1 to {MAX_LINK_PROMPT} characters")
    ablate = st.query_params.get("lm_ablate")
    if ablate is not None:
        heads, bad = parse_ablate_param(ablate)
        st.session_state[ABLATE] = [head_label(h) for h in heads]
        messages += bad
    st.session_state[MESSAGES] = messages


def write_link(prompt: str, heads: Sequence[Head]) -> None:
    """Keep the address bar equal to the prompt and knocked-out heads on screen."""
    params = {"lm_prompt": prompt[:MAX_LINK_PROMPT]}
    if heads:
        params["lm_ablate"] = format_ablate(heads)
    if {k: st.query_params.get(k) for k in st.query_params} != params:
        st.query_params.from_dict(params)


def grid_key() -> str:
    return f"lm_grid_{st.session_state.get(GRID_GEN, 0)}"


def take_grid_click() -> None:
    """Act on a click in the head grid (call before any widget is drawn).

    The click arrives in the chart's session entry at the start of the rerun it caused. It
    either opens the head (sets the layer/head pickers) or toggles its knock-out; then the
    chart gets a new key, so the same head can be clicked again.
    """
    event = st.session_state.get(grid_key())
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if not points:
        return
    point = next((p for p in points if p.get("curve_number") == 1), None)  # the invisible markers' trace
    index = point.get("point_index") if point else None
    if not isinstance(index, int) or not 0 <= index < N_LAYERS * N_HEADS:
        return
    head = divmod(index, N_HEADS)
    if st.session_state.get(CLICK_MODE) == CLICK_KNOCKS:
        chosen = set(st.session_state.get(ABLATE, []))
        chosen ^= {head_label(head)}
        st.session_state[ABLATE] = [lab for lab in HEAD_LABELS if lab in chosen]
    st.session_state[LAYER], st.session_state[HEAD] = head
    st.session_state[GRID_GEN] = st.session_state.get(GRID_GEN, 0) + 1


#: Grid tiles are at most this many pixels a side (270 tiles of 256 x 256 would be an 18-megapixel picture).
TILE = 48


def thumbnails(attentions: np.ndarray, size: int = TILE) -> np.ndarray:
    """(L, H, T, T) weights shrunk to at most ``size`` x ``size`` per head: the largest weight of each block.

    The maximum, not the mean, so that a sharp pattern (one key per query, the diagonal)
    stays visible in a small tile. Blocks are k x k with k = ⌈T / size⌉ (the last ones
    partial). T ≤ ``size`` is returned as it is.
    """
    T = attentions.shape[-1]
    k = -(-T // size)  # block side: ceil(T / size)
    if k == 1:
        return attentions
    starts = np.arange(0, T, k)
    cols = np.maximum.reduceat(attentions, starts, axis=3)  # (L, H, T, m) max over key blocks
    return np.maximum.reduceat(cols, starts, axis=2)  # (L, H, m, m) then over query blocks


def grid_picture(attentions: np.ndarray) -> FigureSpec:
    """Every head as one picture, turned on its side: layers across, heads down (30 x 9 fits a screen).

    ``head_grid`` of the (shrunk) weights with the layer and head axes swapped; the
    expensive part of the grid, worth caching per run. ``meta`` records the tile size.
    """
    tiles = thumbnails(attentions)
    layers, heads, m, _ = tiles.shape
    fig = head_grid(np.swapaxes(tiles, 0, 1), as_image=True)  # tile (h, l): rows are heads
    centre = [k * (m + 1) + (m - 1) / 2 for k in range(max(layers, heads))]
    layout = fig["layout"]
    layout.update(height=340, clickmode="event+select", dragmode=False, meta={"tile": m})
    layout["margin"]["t"] = 30
    layout["title"]["text"] = f"all {layers * heads} heads: layers 0-{layers - 1} across, heads 0-{heads - 1} down"
    layout["xaxis"].update(ticktext=[f"L{l}" for l in range(layers)], tickvals=centre[:layers], tickangle=0,
                           range=[-0.5, layers * (m + 1) - 1.5])
    layout["yaxis"].update(ticktext=[f"head {h}" for h in range(heads)], tickvals=centre[:heads],
                           range=[heads * (m + 1) - 1.5, -0.5])
    layout["yaxis"].pop("autorange", None)
    return fig


def clickable_grid(picture: FigureSpec, factors: np.ndarray, selected: Head) -> FigureSpec:
    """:func:`grid_picture` with one invisible marker per head to click (the second trace, in the
    order (layer, head): a click's ``point_index`` is ``layer · heads + head``), a red ✕ on
    knocked-out or rescaled heads, and an orange square on ``selected``.
    """
    layers, heads = factors.shape
    m = int(picture["layout"]["meta"]["tile"])
    centre = [k * (m + 1) + (m - 1) / 2 for k in range(max(layers, heads))]
    pairs = [(l, h) for l in range(layers) for h in range(heads)]
    status = ["knocked out" if factors[l, h] == 0 else (f"× {factors[l, h]:g}" if factors[l, h] != 1 else "")
              for l, h in pairs]
    size = max(8, min(30, 2 * m))
    markers = [{
        "type": "scatter", "mode": "markers", "x": [centre[l] for l, _ in pairs], "y": [centre[h] for _, h in pairs],
        "showlegend": False, "name": "heads",
        "marker": {"size": size, "symbol": "square", "opacity": 0.0, "color": "black"},
        "customdata": [[l, h, s] for (l, h), s in zip(pairs, status)],
        "hovertemplate": "layer %{customdata[0]}, head %{customdata[1]} %{customdata[2]}<extra></extra>",
    }]
    off = [(l, h) for l, h in pairs if factors[l, h] != 1]
    if off:
        markers.append({
            "type": "scatter", "mode": "markers", "x": [centre[l] for l, _ in off], "y": [centre[h] for _, h in off],
            "showlegend": False, "hoverinfo": "skip", "cliponaxis": False,
            "marker": {"symbol": "x-thin", "size": size, "line": {"width": 3, "color": "#d62728"}},
        })
    markers.append({
        "type": "scatter", "mode": "markers", "x": [centre[selected[0]]], "y": [centre[selected[1]]],
        "showlegend": False, "hoverinfo": "skip", "cliponaxis": False,
        "marker": {"symbol": "square-open", "size": size + 6, "line": {"width": 3, "color": "#ff7f0e"}},
    })
    return {"data": picture["data"][:1] + markers + picture["data"][1:], "layout": picture["layout"]}


def top_bars(rows: Sequence[tuple[str, float]], *, title: str, color: str = "#1f77b4") -> FigureSpec:
    """Horizontal bars of (token text, probability), best on top; tokens shown literally."""
    labels = [f"{i + 1}. {plotly_text(t)}" for i, (t, _) in enumerate(rows)]
    probs = [p for _, p in rows]
    return {
        "data": [{"type": "bar", "orientation": "h", "x": probs, "y": labels, "marker": {"color": color},
                  "text": [f"{p:.1%}" if p >= 0.001 else f"{p:.2g}" for p in probs], "textposition": "outside",
                  "cliponaxis": False, "hovertemplate": "%{y}: %{x:.4f}<extra></extra>"}],
        "layout": {"title": {"text": plotly_text(title)}, "height": 360, "margin": {"l": 10, "r": 40, "t": 40, "b": 30},
                   "xaxis": {"range": [0, max(1e-9, max(probs, default=1.0)) * 1.25], "title": {"text": "probability"},
                             "tickformat": ".0%"},
                   "yaxis": {"autorange": "reversed", "type": "category"}},
    }


def fmt_change(delta: float) -> str:
    """A change in probability in percentage points, signed."""
    return "0" if delta == 0 or not math.isfinite(delta) else f"{delta * 100:+.2f} pp"


# ---------------------------------------------------------------------------- this page's state writes
def take_messages() -> list[str]:
    """What the link got wrong, once."""
    return st.session_state.pop(MESSAGES, [])


def load_example() -> None:
    """The sentence about Mary and John, with the three heads whose removal turns ' Mary' into ' John'."""
    st.session_state[PROMPT] = smollm2.EXAMPLE_PROMPT
    st.session_state[ABLATE] = [head_label(h) for h in smollm2.EXAMPLE_HEADS]
    st.session_state[SCALES] = {}


def reset_heads() -> None:
    st.session_state[ABLATE] = []
    st.session_state[SCALES] = {}


def set_scales(scales: dict) -> None:
    st.session_state[SCALES] = scales


def restore_head(label: str) -> None:
    st.session_state[ABLATE] = [x for x in st.session_state[ABLATE] if x != label]


def knock_out(label: str) -> None:
    st.session_state[ABLATE] = [x for x in HEAD_LABELS if x in {label, *st.session_state[ABLATE]}]


def remember_generated(gen: tuple) -> None:
    """The greedy continuation so far (prompt, knocked-out heads, scales, ids)."""
    st.session_state[GENERATED] = gen
