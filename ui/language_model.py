"""Helpers of the Language model page: heads as labels, the link, the grid's clicks, the bar charts.

No model arithmetic here: numbers come from :mod:`attention_core.pretrained.smollm2`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from attention_core import settings
from attention_core.errors import ValidationError
from attention_core.lab import MAX_SENTENCE_CHARS
from attention_core.pretrained import smollm2
from attention_core.pretrained.bpe import piece_text, readable
from ui.figures import PHONE_ROOM, FigureSpec, head_grid, plotly_text, tick_step, title_layout, wrap
from ui.text import literal

Head = tuple[int, int]
#: The model's shape, as pinned (read before it is loaded).
N_LAYERS, N_HEADS, GROUP = smollm2.CONFIG.n_layers, smollm2.CONFIG.n_heads, smollm2.CONFIG.group
#: Every head as the multiselect shows it, in order.
HEAD_LABELS: tuple[str, ...] = tuple(f"L{l} H{h}" for l in range(N_LAYERS) for h in range(N_HEADS))
#: Session keys (all start with "lm_", the page's own).
PROMPT, ABLATE, SCALES, LAYER, HEAD, CLICK_MODE, GRID_GEN, URL_DONE, MESSAGES, GENERATED = (
    "lm_prompt",
    "lm_ablate",
    "lm_scales",
    "lm_layer",
    "lm_head",
    "lm_click_mode",
    "lm_grid_gen",
    "lm_url_loaded",
    "lm_url_messages",
    "lm_generated",
)
CLICK_OPENS, CLICK_KNOCKS = "opens it below", "knocks it out (or brings it back)"
#: Longest prompt a link may carry.
MAX_LINK_PROMPT = 2000
#: Longest prompt of the Patching tab: 270 patched runs cost about 21 forward passes of the pair.
PATCH_MAX_TOKENS = 64


def head_label(head: Head) -> str:
    return f"L{head[0]} H{head[1]}"


def label_head(label: str) -> Head:
    layer, head = label.split()
    return int(layer[1:]), int(head[1:])


def parse_head(text: str) -> Head | None:
    """``"23.3"`` -> (23, 3); None unless both are ASCII whole numbers inside the model."""
    layer, sep, head = str(text).strip().partition(".")
    pair = (
        (
            settings.parse_whole(layer, 0, N_LAYERS - 1, "layer"),
            settings.parse_whole(head, 0, N_HEADS - 1, "head"),
        )
        if sep
        else None
    )
    return pair if pair and None not in pair else None  # type: ignore[return-value]


def parse_ablate_param(value: str) -> tuple[list[Head], list[str]]:
    """``"23.3,1.5"`` -> [(23, 3), (1, 5)], and what was ignored (never raises; ASCII digits only)."""
    heads: list[Head] = []
    bad: list[str] = []
    for part in str(value).split(",")[: N_LAYERS * N_HEADS]:
        part = part.strip()
        if not part:
            continue
        head = parse_head(part)
        if head is None:
            bad.append(part[:20])
        elif head not in heads:
            heads.append(head)
    message = (
        f"ignored in 'lm_ablate': {', '.join(bad[:5])}{f' and {len(bad) - 5} more' if len(bad) > 5 else ''} "
        f"(a head is layer.head, layer 0-{N_LAYERS - 1}, head 0-{N_HEADS - 1})"
    )
    messages = [message] if bad else []
    return sorted(heads), messages


#: The largest factor on a head's output (the page's number box allows the same).
MAX_FACTOR = 10.0


def parse_scale_param(value: str) -> tuple[dict[Head, float], list[str]]:
    """``"23.3:0.5,1.5:-2"`` -> {(23, 3): 0.5, (1, 5): -2.0}, and what was ignored (never raises)."""
    scales: dict[Head, float] = {}
    bad: list[str] = []
    for part in str(value).split(",")[: N_LAYERS * N_HEADS]:
        part = part.strip()
        if not part:
            continue
        where, _, factor = part.partition(":")
        head = parse_head(where)
        try:
            f = settings.parse_number(factor)
        except ValidationError:
            f = None
        if head is None or f is None or not -MAX_FACTOR <= f <= MAX_FACTOR:
            bad.append(part[:24])
        elif f != 1.0:
            scales[head] = f
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    messages = (
        [
            (
                f"ignored in 'lm_scale': {', '.join(bad[:5])}{more} (a rescaled head is layer.head:factor, "
                f"the factor from {-MAX_FACTOR:g} to {MAX_FACTOR:g})"
            )
        ]
        if bad
        else []
    )
    return scales, messages


def format_scales(scales: dict[Head, float]) -> str:
    return ",".join(f"{l}.{h}:{v:g}" for (l, h), v in sorted(scales.items()))


def format_ablate(heads: Iterable[Head]) -> str:
    return ",".join(f"{l}.{h}" for l, h in sorted(heads))


#: The page's tabs (only the chosen one computes) and their names in the link.
TABS = ("Knock out heads", "Predict", "Logit lens", "Head roles", "Patching")
TAB_SLUGS = dict(zip(TABS, ("heads", "predict", "lens", "roles", "patch")))
TAB, LENS_CELL, ROLES_FOUND, PATCH_LAYER, PATCH_HEAD, PATCH_CLICK_GEN, LENS_CLICK_GEN = (
    "lm_tab",
    "lm_cell",
    "lm_roles",
    "lm_pl",
    "lm_ph",
    "lm_patch_gen",
    "lm_lens_gen",
)
#: The IOI pair (Wang et al., 2022): the clean prompt names Mary as the indirect object, the corrupted
#: one John.
CORRUPTED_EXAMPLE = "When Mary and John went to the store, Mary gave a drink to"
#: Text fields of the tabs: session key = link key, default, longest value a link may carry. Every value
#: is parsed where it is used (a message beside the field says what is wrong), so the link only copies text.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "lm_temp": ("1", 40),
    "lm_topk": ("0", 40),
    "lm_topp": ("1", 40),
    "lm_seed": ("0", 40),
    "lm_steps": ("10", 40),
    "lm_clean": (smollm2.EXAMPLE_PROMPT, MAX_LINK_PROMPT),
    "lm_corrupt": (CORRUPTED_EXAMPLE, MAX_LINK_PROMPT),
    "lm_answer": (" Mary", 100),
    "lm_wrong": (" John", 100),
    "lm_rseed": ("0", 40),
    "lm_rk": ("8", 40),
}
#: Whole-number keys of the link: (lo, hi) and their default.
INT_FIELDS: dict[str, tuple[int, int, int]] = {
    LAYER: (0, N_LAYERS - 1, 0),
    HEAD: (0, N_HEADS - 1, 0),
    PATCH_LAYER: (0, N_LAYERS - 1, 23),
    PATCH_HEAD: (0, N_HEADS - 1, 3),
}


def _fits(text: str, most: int) -> bool:
    try:
        settings.check_text(text)
    except ValidationError:
        return False
    return len(text) <= most and "\x00" not in text


def load_link_once(default_prompt: str) -> None:
    """On the page's first run, take every ``lm_*`` key from the link; never fail, say what was ignored."""
    st.session_state.setdefault(PROMPT, default_prompt)
    st.session_state.setdefault(ABLATE, [])
    st.session_state.setdefault(SCALES, {})
    st.session_state.setdefault(GRID_GEN, 0)
    st.session_state.setdefault(TAB, TABS[0])
    for key, (default, _) in TEXT_FIELDS.items():
        st.session_state.setdefault(key, default)
    for key, (_, _, default) in INT_FIELDS.items():
        st.session_state.setdefault(key, default)
    if st.session_state.get(URL_DONE):
        return
    st.session_state[URL_DONE] = True
    messages = []
    prompt = st.query_params.get("lm_prompt")
    if prompt is not None:
        if 0 < len(prompt) <= min(MAX_LINK_PROMPT, MAX_SENTENCE_CHARS) and _fits(prompt, MAX_LINK_PROMPT):
            st.session_state[PROMPT] = prompt
        else:
            messages.append(f"ignored 'lm_prompt': it must be 1 to {MAX_LINK_PROMPT} characters")
    ablate = st.query_params.get("lm_ablate")
    if ablate is not None:
        heads, bad = parse_ablate_param(ablate)
        st.session_state[ABLATE] = [head_label(h) for h in heads]
        messages += bad
    scale = st.query_params.get("lm_scale")
    if scale is not None:
        scales, bad = parse_scale_param(scale)
        st.session_state[SCALES] = scales
        messages += bad
    tab = st.query_params.get("lm_tab")
    if tab is not None:
        slugs = {v: k for k, v in TAB_SLUGS.items()}
        if tab in slugs:
            st.session_state[TAB] = slugs[tab]
        else:
            messages.append(f"ignored 'lm_tab': the tabs are {', '.join(slugs)}")
    for key, (most, _) in ((k, (v[1], v[0])) for k, v in TEXT_FIELDS.items()):
        value = st.query_params.get(key)
        if value is None:
            continue
        if _fits(value, most):
            st.session_state[key] = value
        else:
            messages.append(f"ignored '{key}': at most {most} characters of text")
    for key, (lo, hi, _) in INT_FIELDS.items():
        value = st.query_params.get(key)
        if value is None:
            continue
        n = settings.parse_whole(value, lo, hi, key)
        if n is None:
            messages.append(f"ignored '{key}': a whole number from {lo} to {hi}")
        else:
            st.session_state[key] = n
    cell = st.query_params.get(LENS_CELL)
    if cell is not None:
        layer, _, pos = cell.partition(".")
        pair = (
            settings.parse_whole(layer, 0, N_LAYERS - 1),
            settings.parse_whole(pos, 0, smollm2.MAX_TOKENS - 1),
        )
        if None in pair:
            messages.append(f"ignored '{LENS_CELL}': layer.position, e.g. 20.5")
        else:
            st.session_state[LENS_CELL] = pair
    if st.query_params.get(ROLES_FOUND) == "1":
        st.session_state[ROLES_FOUND] = True
    elif ROLES_FOUND in st.query_params:
        messages.append(f"ignored '{ROLES_FOUND}': 1 or nothing")
    st.session_state[MESSAGES] = messages


def write_link(prompt: str, heads: Sequence[Head], scales: dict[Head, float] | None = None) -> None:
    """Keep the address bar equal to the state on screen: prompt, heads, tab and each tab's fields."""
    params = {"lm_prompt": prompt[:MAX_LINK_PROMPT]}
    if heads:
        params["lm_ablate"] = format_ablate(heads)
    if scales:
        params["lm_scale"] = format_scales(scales)
    tab = st.session_state.get(TAB, TABS[0])
    if tab != TABS[0] and tab in TAB_SLUGS:
        params["lm_tab"] = TAB_SLUGS[tab]
    for key, (default, most) in TEXT_FIELDS.items():
        value = st.session_state.get(key, default)
        if isinstance(value, str) and value != default:
            params[key] = value[:most]
    for key, (_, _, default) in INT_FIELDS.items():
        value = st.session_state.get(key, default)
        if isinstance(value, int) and value != default:
            params[key] = str(value)
    if st.session_state.get(TAB) == "Logit lens" and LENS_POS in st.session_state:
        params[LENS_CELL] = f"{st.session_state.get(LENS_LAYER)}.{st.session_state[LENS_POS]}"
    if st.session_state.get(ROLES_FOUND):
        params[ROLES_FOUND] = "1"
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
    # Cached for every session, phones included: labels and title laid out for a phone's room (the builder's
    # rule), so they fit any screen. The picture keeps square pixels: its height is the width's 9/30.
    title, lines = wrap(
        f"all {layers * heads} heads, a picture: layers 0-{layers - 1} across, heads 0-{heads - 1} down",
        PHONE_ROOM - 20,
    )
    layout["title"] = title_layout(title, lines, 340)
    layout["margin"]["t"] = round(16 + 20 * lines)
    every = tick_step(layers, PHONE_ROOM - 60, "L00")
    every_y = tick_step(heads, (PHONE_ROOM - 60) * heads / layers)
    layout["xaxis"].update(
        ticktext=[f"L{i}" for i in range(layers)][::every],
        tickvals=centre[:layers][::every],
        tickangle=0,
        range=[-0.5, layers * (m + 1) - 1.5],
    )
    layout["yaxis"].update(
        ticktext=[f"head {h}" for h in range(heads)][::every_y],
        tickvals=centre[:heads][::every_y],
        range=[heads * (m + 1) - 1.5, -0.5],
    )
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
    status = [
        "knocked out" if factors[l, h] == 0 else (f"× {factors[l, h]:g}" if factors[l, h] != 1 else "")
        for l, h in pairs
    ]
    size = max(8, min(30, 2 * m))
    markers = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": [centre[l] for l, _ in pairs],
            "y": [centre[h] for _, h in pairs],
            "showlegend": False,
            "name": "heads",
            "marker": {"size": size, "symbol": "square", "opacity": 0.0, "color": "black"},
            "customdata": [[l, h, s] for (l, h), s in zip(pairs, status)],
            "hovertemplate": "layer %{customdata[0]}, head %{customdata[1]} %{customdata[2]}<extra></extra>",
        }
    ]
    off = [(l, h) for l, h in pairs if factors[l, h] != 1]
    if off:
        markers.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [centre[l] for l, _ in off],
                "y": [centre[h] for _, h in off],
                "showlegend": False,
                "hoverinfo": "skip",
                "cliponaxis": False,
                "marker": {"symbol": "x-thin", "size": size, "line": {"width": 3, "color": "#d62728"}},
            }
        )
    markers.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": [centre[selected[0]]],
            "y": [centre[selected[1]]],
            "showlegend": False,
            "hoverinfo": "skip",
            "cliponaxis": False,
            "marker": {"symbol": "square-open", "size": size + 6, "line": {"width": 3, "color": "#ff7f0e"}},
        }
    )
    return {"data": picture["data"][:1] + markers + picture["data"][1:], "layout": picture["layout"]}


def top_bars(rows: Sequence[tuple[str, float]], *, title: str, color: str = "#1f77b4") -> FigureSpec:
    """Horizontal bars of (token text, probability), best on top; tokens shown literally."""
    labels = [f"{i + 1}. {plotly_text(t)}" for i, (t, _) in enumerate(rows)]
    probs = [p for _, p in rows]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": probs,
                "y": labels,
                "marker": {"color": color},
                "text": [f"{p:.1%}" if p >= 0.001 else f"{p:.2g}" for p in probs],
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": "%{y}: %{x:.4f}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": plotly_text(title)},
            "height": 360,
            "margin": {"l": 10, "r": 40, "t": 40, "b": 30},
            "xaxis": {
                "range": [0, max(1e-9, max(probs, default=1.0)) * 1.25],
                "title": {"text": "probability"},
                "tickformat": ".0%",
            },
            "yaxis": {"autorange": "reversed", "type": "category"},
        },
    }


def fmt_change(delta: float) -> str:
    """A change in probability in percentage points, signed."""
    return "0" if delta == 0 or not math.isfinite(delta) else f"{delta * 100:+.2f} pp"


# ---------------------------------------------------------------------------- this page's state writes
def take_messages() -> list[str]:
    """What the link got wrong, once."""
    return st.session_state.pop(MESSAGES, [])


#: What the "Mary and John" button shows: the task, and how its three heads were found (the search is
#: described with its numbers at smollm2.EXAMPLE_HEADS).
EXAMPLE_EXPLANATION = (
    'The task, indirect-object identification (Wang et al., 2022): in "When Mary and John went to the '
    'store, John gave a drink to" the next word should be the name that is not repeated, Mary. The model '
    'says " Mary" with p = 0.92.\n'
    'The three heads were found by a greedy search on logit(" Mary") − logit(" John"), 3.08 at first: '
    "knock out each of the 270 heads in turn (its attention output set to zero), keep the one that lowers "
    "the difference most, and repeat. Step 1 found L23 H3 (alone it lifts p(John) tenfold, 0.004 → 0.040); "
    'step 2 L1 H5 (alone the biggest drop of p(Mary), 0.92 → 0.65); step 3 L24 H4, and " John" wins '
    "(p(Mary) 0.92 → 0.13, p(John) 0.004 → 0.78).\n"
    "Try: bring the heads back one at a time to see each one's share, or press Reset heads."
)


def showing_example() -> bool:
    """Whether the prompt and the knocked-out heads are the "Mary and John" example's."""
    return st.session_state.get(PROMPT) == smollm2.EXAMPLE_PROMPT and sorted(
        st.session_state.get(ABLATE, [])
    ) == sorted(head_label(h) for h in smollm2.EXAMPLE_HEADS)


def load_example() -> None:
    """The sentence about Mary and John, with the three heads whose removal turns ' Mary' into ' John'."""
    st.session_state[PROMPT] = smollm2.EXAMPLE_PROMPT
    st.session_state[ABLATE] = [head_label(h) for h in smollm2.EXAMPLE_HEADS]
    st.session_state[SCALES] = {}


def reset_heads() -> None:
    """Every head back at factor 1, and every factor box forgotten (else it would show, and re-apply, 0.5)."""
    st.session_state[ABLATE] = []
    st.session_state[SCALES] = {}
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("lm_factor_")]:
        del st.session_state[key]


def set_scales(scales: dict) -> None:
    st.session_state[SCALES] = scales


def restore_head(label: str) -> None:
    st.session_state[ABLATE] = [x for x in st.session_state[ABLATE] if x != label]


def knock_out(label: str) -> None:
    st.session_state[ABLATE] = [x for x in HEAD_LABELS if x in {label, *st.session_state[ABLATE]}]


def remember_generated(gen: tuple) -> None:
    """The greedy continuation so far (prompt, knocked-out heads, scales, ids)."""
    st.session_state[GENERATED] = gen


# ---------------------------------------------------------------------------- issue 25's tabs: views
def words_and_table(sentence: str, key: str, build: Callable[[], pd.DataFrame]) -> None:
    """A figure's one-line text alternative, then its numbers as a table (built only while open)."""
    st.caption(literal(sentence))
    box = st.expander("the numbers as a table", key=f"{key}_table", on_change="rerun")
    if box.open:
        box.dataframe(build(), hide_index=True)


def cut_bars(rows: Sequence[tuple[str, float, float]], *, title: str) -> FigureSpec:
    """The model's top tokens (token, p before, p after): kept ones blue, cut ones grey and marked "cut"."""
    fig = top_bars([(t, p) for t, p, _ in rows], title=title)
    kept = [after > 0 for _, _, after in rows]
    fig["data"][0]["marker"]["color"] = ["#1f77b4" if k else "#c7c7c7" for k in kept]
    fig["data"][0]["text"] = [text if k else f"{text} cut" for text, k in zip(fig["data"][0]["text"], kept)]
    return fig


def cell_tokens(ids: np.ndarray, probs: np.ndarray, tokenizer: object, k: int = 5) -> str:
    """'␣Paris 0.81 · ␣the 0.05 …' for hover and tables (tokens shown literally)."""
    return " · ".join(
        f"{readable(piece_text(tokenizer.tokens[int(i)]))} {p:.3f}"  # type: ignore[attr-defined]
        for i, p in zip(ids[:k], probs[:k])
    )


def lens_figure(
    grid: smollm2.LensGrid, positions: Sequence[int], tokenizer: object, selected: tuple[int, int] | None
) -> FigureSpec:
    """Layers (rows, last on top) × positions: colour = the top token's probability, text = that token;
    hover lists the top 5; one invisible marker per cell to click (point_index = layer · P + column)."""
    L, P, _ = grid.ids.shape
    probs = grid.probs  # (L, P, k)
    top_text = [
        [
            plotly_text(readable(piece_text(tokenizer.tokens[int(grid.ids[l, c, 0])])))[:10]  # type: ignore
            for c in range(P)
        ]
        for l in range(L)
    ]
    hover = [
        [plotly_text(cell_tokens(grid.ids[l, c], probs[l, c], tokenizer)) for c in range(P)] for l in range(L)
    ]
    cols = [f"{p}·{plotly_text(readable(t))}" for p, t in zip(positions, grid.tokens)]
    rows = [f"L{l}" for l in range(L)]
    data: list[dict] = [
        {
            "type": "heatmap",
            "z": probs[:, :, 0].astype(np.float32),
            "x": cols,
            "y": rows,
            "zmin": 0,
            "zmax": 1,
            "colorscale": "Viridis",
            "text": top_text,
            "texttemplate": "%{text}",
            "textfont": {"size": 9},
            "hoverinfo": "skip",
            "colorbar": {"title": {"text": "p(top)"}},
        },
        {
            "type": "scatter",
            "mode": "markers",
            "showlegend": False,
            "name": "cells",
            "x": [c for _ in range(L) for c in cols],
            "y": [r for r in rows for _ in range(P)],
            "marker": {"size": 14, "opacity": 0.0, "color": "black"},
            "customdata": [hover[l][c] for l in range(L) for c in range(P)],
            "hovertemplate": "after layer %{y}, position %{x}<br>%{customdata}<extra></extra>",
        },
    ]
    layout: dict = {
        "title": {"text": "logit lens: the top next token read after each layer (click a cell)"},
        "height": 640,
        "margin": {"l": 50, "r": 10, "t": 40, "b": 90},
        "clickmode": "event+select",
        "dragmode": False,
        "xaxis": {"type": "category", "tickangle": -45, "title": {"text": "position"}},
        "yaxis": {"type": "category", "autorange": True, "title": {"text": "layer"}},
    }
    if selected is not None and 0 <= selected[0] < L and 0 <= selected[1] < P:
        layout["shapes"] = [
            {
                "type": "rect",
                "xref": "x",
                "yref": "y",
                "x0": selected[1] - 0.5,
                "x1": selected[1] + 0.5,
                "y0": selected[0] - 0.5,
                "y1": selected[0] + 0.5,
                "line": {"color": "#ff2d95", "width": 3},
            }
        ]
    return {"data": data, "layout": layout}


def clicked_index(key: str, curve: int = 1) -> int | None:
    """The ``point_index`` of a click on chart ``key`` (its invisible markers are trace ``curve``), or
    None."""
    event = st.session_state.get(key)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    point = next((p for p in points if p.get("curve_number") == curve), None)
    index = point.get("point_index") if point else None
    return index if isinstance(index, int) and index >= 0 else None


LENS_LAYER, LENS_POS = "lm_lens_layer", "lm_lens_pos"


def keep_lens_cell(positions: Sequence[int]) -> None:
    """The lens cell pickers hold a layer and a shown position (default: the last of each); a click in the
    grid (its markers: point_index = layer · P + column) moves them; the chart then gets a new key."""
    index = clicked_index(f"lm_lens_{st.session_state.get(LENS_CLICK_GEN, 0)}")
    if index is not None and index < N_LAYERS * len(positions):
        layer, column = divmod(index, len(positions))
        st.session_state[LENS_LAYER], st.session_state[LENS_POS] = layer, positions[column]
        st.session_state[LENS_CLICK_GEN] = st.session_state.get(LENS_CLICK_GEN, 0) + 1
    cell = st.session_state.pop(LENS_CELL, None)  # from the link
    if cell:
        st.session_state[LENS_LAYER], st.session_state[LENS_POS] = cell
    if st.session_state.get(LENS_LAYER) not in range(N_LAYERS):
        st.session_state[LENS_LAYER] = N_LAYERS - 1
    if st.session_state.get(LENS_POS) not in positions:
        st.session_state[LENS_POS] = positions[-1]


def take_patch_click() -> None:
    """A click in the patching heatmap (heads down, layers across: point_index = head · 30 + layer)
    chooses it."""
    index = clicked_index(f"lm_patch_{st.session_state.get(PATCH_CLICK_GEN, 0)}")
    if index is None or index >= N_LAYERS * N_HEADS:
        return
    st.session_state[PATCH_HEAD], st.session_state[PATCH_LAYER] = divmod(index, N_LAYERS)
    st.session_state[PATCH_CLICK_GEN] = st.session_state.get(PATCH_CLICK_GEN, 0) + 1


def loss_figure(
    tokens: Sequence[str], losses: np.ndarray, knocked: np.ndarray | None, half: int, heads: Sequence[Head]
) -> FigureSpec:
    """Per-token loss (nats) of the repeated sequence, as trained and with ``heads`` knocked out;
    a dashed line where the repeat starts and each half's mean written in the legend."""
    x = list(range(1, len(losses) + 1))
    names = [plotly_text(readable(t)) for t in tokens[1:]]

    def halves(v: np.ndarray) -> str:
        return f"first half {v[: half - 1].mean():.2f}, repeat {v[half - 1 :].mean():.2f}"

    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": losses,
            "name": f"as trained ({halves(losses)})",
            "customdata": names,
            "hovertemplate": "predicting %{customdata} (position %{x}): %{y:.2f} nats<extra></extra>",
            "line": {"color": "#1f77b4"},
        }
    ]
    if knocked is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": x,
                "y": knocked,
                "name": f"{len(heads)} induction heads out ({halves(knocked)})",
                "customdata": names,
                "hovertemplate": "predicting %{customdata}: %{y:.2f} nats<extra></extra>",
                "line": {"color": "#d62728"},
            }
        )
    return {
        "data": data,
        "layout": {
            "title": {"text": "loss on each next token (nats)"},
            "height": 330,
            "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
            "legend": {"orientation": "h", "y": -0.18},
            "xaxis": {"title": {"text": "position"}},
            "yaxis": {"title": {"text": "loss"}, "rangemode": "tozero"},
            "shapes": [
                {
                    "type": "line",
                    "x0": half - 0.5,
                    "x1": half - 0.5,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"dash": "dash", "color": "#555"},
                }
            ],
        },
    }


def number_field(
    where: st.delta_generator.DeltaGenerator,
    label: str,
    key: str,
    *,
    lo: float,
    hi: float | None,
    whole: bool,
    help: str,
) -> float | None:
    """A typed number parsed by the lab's one parser; what is wrong is said beside the field (None then)."""
    text = where.text_input(label, key=key, help=help, persist_state="session")
    try:
        value = settings.parse_number(text)
    except ValidationError as exc:
        where.error(literal(f"{label}: {exc}"))
        return None
    if whole and value != int(value):
        where.error(literal(f"{label}: a whole number, got {text.strip()[:30]}"))
        return None
    if value < lo or (hi is not None and value > hi):
        where.error(literal(f"{label}: from {lo:g}" + (f" to {hi:g}" if hi is not None else " up")))
        return None
    return int(value) if whole else value


#: Repeated random sequences of Head roles: ids of ordinary word pieces, each half this long.
REPEAT_LEN = 20


def repeated_sequence(seed: int, n: int = REPEAT_LEN) -> list[int]:
    """2 × n random token ids (1000-20000), the second half a copy of the first (as the fixtures made
    them)."""
    half = np.random.default_rng(seed).integers(1000, 20000, size=n).tolist()
    return half + half


def find_induction_heads() -> None:
    st.session_state[ROLES_FOUND] = True
