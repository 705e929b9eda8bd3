"""Plotly figures drawn from a trace: the one place that builds a heatmap.

No maths happens here beyond choosing colours: every number comes from the
core's trace. User text (tokens) reaches Plotly only through :func:`plotly_text`,
which escapes Plotly's label markup, and the axes are numeric with the tokens as
tick text, so two equal tokens ("the … the") keep separate rows and columns.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from attention_core.steps import Kind, Step, labels, steps_for
from ui.palettes import colorscales

if TYPE_CHECKING:
    from attention_core import LabTrace

#: A Plotly figure as its JSON-ready dict: cheap to build, to measure and to cache. Plotly validates
#: a dict given to ``st.plotly_chart`` on every rerun, so the Playground's shared figures are made
#: into a Figure once per server (``ui.views.shared_figure``).
FigureSpec = dict

#: Matrices up to this many cells get their values written in the cells (when they fit, see :func:`plan`).
MAX_CELLS_WITH_TEXT = 400
#: Cell numbers: font size in px, and the width in px a figure is assumed to have (a half-width
#: column of the Playground at 1280 px with the sidebar open is 439 px, measured); the cells get
#: what the margins leave of it. Numbers are never smaller than MIN_TEXT_SIZE (20 in presentation mode):
#: fewer digits first, then a smaller size, then none.
TEXT_SIZE = 14
TEXT_WIDTH = 440
MIN_TEXT_SIZE = 12
#: A cell narrower or lower than this is not a cell a person can point at: the figure says it is a picture.
MIN_CELL_PX = 14
#: A phone's room: the width of a figure on a 390 px wide phone (the page's padding taken off).
PHONE_ROOM = 350
#: The Playground's head view on a projector (1280×720, the sidebar open): the height of the column beside
#: the editor, from under the page's title and its sentence (the columns start 113 px down, measured) to
#: 12 px above the screen's bottom. In it, the "Head" selector's row (a radio with its label beside the
#: options, measured 40 px) and the gap between two elements of a column (16 px, Streamlit's).
HEAD_VIEW_ROOM = 595
SELECTOR_PX = 40
GAP_PX = 16
#: The Playground's weights heatmap is at most this high (at 1920×1080 the chosen second view fits under it).
WEIGHTS_HEIGHT = 400
#: The all-heads strip: at most this high, and at least this high to stand above the weights (one line of
#: title, a row of tiles, the heads' names); with less room it goes under the weights at STRIP_MOST.
STRIP_MOST = 200
STRIP_LEAST = 110
#: The colour bar's thickness in px.
COLORBAR_PX = 12
#: Longest tick label, in characters (longer tokens end in "…"; hover names them whole).
MAX_TICK_CHARS = 20
#: Tick labels' font size (Plotly's default), and a letter's width in units of it (generous for
#: Plotly's sans-serif); a line of text is this many times its font size high.
TICK_PX = 12
_LETTER_EM = 0.62
_LINE_EM = 1.3
#: The figure's title: font size in px (axis titles are 14 px).
TITLE_PX = 15
#: Axes label at most this many ticks (every one for tokens up to here).
MAX_TICKS = 64
#: Feature-dimension axes (0, 1, 2, …) need fewer labels.
MAX_DIM_TICKS = 12
#: Up to this many cells the hover also shows extra numbers (raw and scaled score).
MAX_CELLS_WITH_HOVER_EXTRA = 32 * 32  # (as JSON lists: ~20 bytes per number)
#: Larger matrices travel to the browser as float32 (Plotly sends NumPy arrays as typed arrays).
MAX_CELLS_FLOAT64 = 64 * 64
#: Up to this many cells a click on a cell can be caught (one invisible marker per cell).
MAX_CELLS_CLICKABLE = 32 * 32  # (one marker per cell, sent as JSON lists)
#: Larger matrices are drawn as one picture (a palette PNG made here) instead of a heatmap:
#: at 512 tokens a 512 x 512 heatmap costs the browser about half a second to decode and
#: colour, the picture almost nothing. Hover then names the row and column; the exact
#: values are in the exports.
MAX_CELLS_AS_HEATMAP = 256 * 256
#: The default palette's colour-blind-safe sequential scale, for weights (fixed 0..1). Every palette's
#: scales, diverging ones included, come from :mod:`ui.palettes` (checked under colour-vision deficiencies).
WEIGHTS_SCALE = colorscales("default")[0]


def plotly_text(text: str) -> str:
    """``text`` made literal for Plotly: no HTML tags, entities or LaTeX.

    Plotly turns ``<b>``, ``<br>``, ``<a href>`` and ``&amp;`` into markup and
    a string wrapped in ``$…$`` into LaTeX; escaping ``&``, ``<``, ``>`` and the
    dollar sign as entities makes Plotly print them as typed.
    """
    return html.escape(text, quote=False).replace("$", "&#36;")


_F32 = np.finfo(np.float32)


def as_sent(z: np.ndarray) -> np.ndarray:
    """``z`` as float32 when every finite value survives the conversion, else as it is (float64).

    float32 holds magnitudes from about 1.2e-38 to 3.4e38: a finite value near 1e300 would be
    drawn as ±Infinity and 1e-300 as 0, so one such value keeps the whole matrix in float64
    (twice the bytes, the true numbers). NaN (masked, gaps) is kept either way.
    """
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(z)
    big = np.nanmax(magnitude, initial=0.0, where=np.isfinite(magnitude))
    small = np.nanmin(magnitude, initial=np.inf, where=np.isfinite(magnitude) & (magnitude > 0))
    if big > _F32.max or small < _F32.tiny:
        return z
    return z.astype(np.float32)


def heatmap(
    z: np.ndarray,
    *,
    title: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    kind: Kind,
    row_title: str = "query",
    col_title: str = "key",
    hover_extra: dict[str, np.ndarray] | None = None,
    height: int | None = None,
    text_size: int = TEXT_SIZE,
    text_width: int = TEXT_WIDTH,
    palette: str = "default",
    tick_px: int = TICK_PX,
    min_text_size: int = MIN_TEXT_SIZE,
) -> FigureSpec:
    """A heatmap of ``z`` (rows, cols) with labelled rows and columns, as a figure dict.

    ``kind`` picks the colours: ``"weights"`` on a fixed 0..1 scale,
    ``"scores"`` and ``"values"`` on a diverging scale centred at 0.
    Non-finite cells (masked scores are -inf) are left blank and say "masked".
    ``hover_extra`` adds named (rows, cols) arrays to the hover box (for the
    weights: the raw and the scaled score).

    The legibility contract is decided here, from the room the figure has (``text_width`` px wide,
    ``height`` px high; at most a phone's width on a phone, see :func:`room`): see :func:`plan`.
    """
    z = np.asarray(z, dtype=np.float64)
    n_rows, n_cols = z.shape
    shown = np.where(np.isfinite(z), z, np.nan)  # blank, not a colour, for -inf
    if z.size > MAX_CELLS_FLOAT64:
        shown = as_sent(shown)  # float32 (half the bytes) when every value survives it
    # Category axes whose values are unique ("4·the") but whose tick text is the bare token:
    # equal tokens keep their own rows and columns, and hover names both position and token.
    rows = [plotly_text(t) for t in row_labels]
    cols = [plotly_text(t) for t in col_labels]
    # As object arrays, not lists: Plotly's validator takes an array whole but walks a list
    # element by element (at 512 tokens that walk was a third of the rerun).
    y = np.array([f"{i}·{r}" for i, r in enumerate(rows)], dtype=object)
    x = np.array([f"{j}·{c}" for j, c in enumerate(cols)], dtype=object)

    hover = f"{row_title} %{{y}}<br>{col_title} %{{x}}<br>{plotly_text(title)}: %{{z:.6g}}"
    trace_kwargs: dict = {}
    extra = hover_extra if hover_extra and z.size <= MAX_CELLS_WITH_HOVER_EXTRA else {}
    if extra:
        trace_kwargs["customdata"] = np.stack(
            [np.asarray(v, dtype=np.float64) for v in extra.values()], axis=-1
        ).tolist()
        for k, name in enumerate(extra):
            hover += f"<br>{name}: %{{customdata[{k}]:.6g}}"
    hover += "<extra></extra>"

    sequential, diverging = colorscales(palette)
    if kind == "weights":
        trace_kwargs.update(colorscale=sequential, zmin=0.0, zmax=1.0)
    else:
        bound = float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 1.0
        # Symmetric bounds put 0 in the middle of the scale (Plotly ignores zmid once zmin/zmax are set).
        trace_kwargs.update(colorscale=diverging, zmin=-bound or -1.0, zmax=bound or 1.0)
    width = room(text_width)
    if z.size > MAX_CELLS_AS_HEATMAP:
        xs = _thin(n_cols, MAX_TICKS if col_title != "dimension" else MAX_DIM_TICKS)
        ys = _thin(n_rows, MAX_TICKS)
        return _picture(
            shown,
            title=title,
            rows=rows,
            cols=cols,
            xs=xs,
            ys=ys,
            row_title=row_title,
            col_title=col_title,
            height=height,
            **trace_kwargs,
        )
    fig_height = height or max(260, min(700, 120 + 28 * n_rows))
    p = plan(rows, cols, width=width, height=fig_height, tick_px=tick_px, title=plotly_text(title))
    text = None
    if not p.picture and z.size <= MAX_CELLS_WITH_TEXT:
        text, size = cell_text(z, kind, p.cell_w, text_size, cell_h=p.cell_h, least=min_text_size)
    written = text is not None
    if written:
        trace_kwargs.update(text=text, texttemplate="%{text}", textfont={"size": size})
    trace_kwargs["colorbar"] = {"thickness": COLORBAR_PX, "tickfont": {"size": tick_px}, "len": 1.0}
    tickfont = {"size": tick_px}
    return {
        "data": [
            {
                "type": "heatmap",
                "z": shown,
                "x": x,
                "y": y,
                "hovertemplate": hover,
                "xgap": 1 if written else 0,
                "ygap": 1 if written else 0,
                **trace_kwargs,
            }
        ],
        "layout": {
            "title": p.title_layout,
            "margin": p.margin,
            "height": fig_height,
            # The labelled ticks are every k-th, as many as fit (hover names every row and column).
            "xaxis": {
                "type": "category",
                "tickmode": "array",
                "tickvals": [x[j] for j in p.xs],
                "ticktext": [_tick(cols[j], p.col_chars) for j in p.xs],
                "side": "bottom",
                "title": {"text": col_title},
                "tickangle": p.angle,
                "automargin": False,
                "tickfont": tickfont,
                "range": [-0.5, n_cols - 0.5],
            },  # the cells fill the plot (a click layer's markers pad autorange)
            "yaxis": {
                "type": "category",
                "tickmode": "array",
                "tickvals": [y[i] for i in p.ys],
                "ticktext": [_tick(rows[i], p.row_chars) for i in p.ys],
                "title": {"text": row_title},
                "automargin": False,
                "tickfont": tickfont,
                "range": [n_rows - 0.5, -0.5],
            },  # row 0 on top
        },
    }


#: What a figure holds besides its data: Plotly's default template (about 7 KB as JSON) and the
#: validated objects around it, counted generously.
FIGURE_OVERHEAD_BYTES = 64 * 1024


def held_bytes(spec: object) -> int:
    """About the memory a figure built from ``spec`` holds, for the shared cache's byte bound: numeric
    arrays by their bytes, strings by their length plus a Python string's header, every number in a
    list as a Python float and its pointer. A walk of the spec, not an encoding of the figure (encoding
    it to JSON to measure it cost a tenth of a sentence change)."""
    if isinstance(spec, np.ndarray):
        if spec.dtype == object:
            return sum(held_bytes(v) for v in spec.flat) + 8 * spec.size
        return int(spec.nbytes)
    if isinstance(spec, dict):
        return sum(held_bytes(v) for v in spec.values()) + 64 * len(spec)
    if isinstance(spec, (list, tuple)):
        return sum(held_bytes(v) for v in spec) + 8 * len(spec)
    if isinstance(spec, str):
        return 49 + len(spec)
    return 32


def figure_bytes(spec: FigureSpec) -> int:
    """About the memory a Plotly figure built from ``spec`` holds: its data and its overhead."""
    return FIGURE_OVERHEAD_BYTES + held_bytes(spec)


def _tick(text: str, chars: int = MAX_TICK_CHARS) -> str:
    plain = html.unescape(text)
    return text if len(plain) <= chars else plotly_text(plain[: chars - 1]) + "…"


def label_px(ticks: Sequence[str], tick_px: int = TICK_PX, chars: int = MAX_TICK_CHARS) -> float:
    """About how wide the widest of the tick labels ``ticks`` (Plotly text) is drawn, at most
    ``chars`` letters."""
    widest = max((len(html.unescape(t)) for t in ticks), default=1)
    return _LETTER_EM * tick_px * min(widest, chars)


def on_phone() -> bool:
    """Is the page being drawn on a phone (its browser says "Mobile")? False outside a Streamlit session."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:  # no session (a script, a unit test): a desktop
        return False
    return "Mobi" in (st.context.headers.get("User-Agent") or "")


def room(width: int) -> int:
    """The width in px a figure meant to be ``width`` px wide gets: on a phone, at most a phone's."""
    return min(width, PHONE_ROOM) if on_phone() else width


def wrap(text: str, width: float, size: int = TITLE_PX) -> tuple[str, int]:
    """(Plotly text broken with <br> at spaces so that each line fits ``width`` px at font ``size``,
    the number of lines)."""
    most = max(8, int(width / (0.52 * size)))  # Source Sans: about half an em a letter, measured
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(html.unescape(lines[-1])) + 1 + len(html.unescape(word)) <= most:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines), max(1, len(lines))


def title_layout(text: str, lines: int, height: int, size: int = TITLE_PX) -> dict:
    """A title of ``lines`` lines whose first line starts 8 px below the figure's top (Plotly anchors a
    multi-line title by its middle lines: measured, the box rose 0.75 line per extra line above its
    anchor)."""
    drop = 8 + 0.8 * _LINE_EM * size * (lines - 1)
    return {
        "text": text,
        "y": 1 - drop / height,
        "yref": "container",
        "yanchor": "top",
        "font": {"size": size},
    }


@dataclass(frozen=True)
class Plan:
    """How a heatmap is laid out in its room: margins, which ticks are labelled and at what angle,
    how long a label may be, the size of a cell, whether the cells are too small to point at (a
    picture), and the title as drawn."""

    margin: dict
    xs: list[int]
    ys: list[int]
    angle: int
    row_chars: int
    col_chars: int
    cell_w: float
    cell_h: float
    picture: bool
    title: str
    title_layout: dict


def _every(n: int, k: int) -> list[int]:
    return list(range(0, n, max(1, k)))


def tick_step(n: int, length: float, widest: str = "", tick_px: int = TICK_PX) -> int:
    """Label every k-th of ``n`` evenly spaced upright ticks along ``length`` px: k such that the labels
    (as wide as ``widest`` along a horizontal axis; one line high along a vertical one, ``widest=""``)
    keep a gap."""
    need = label_px([widest], tick_px) + 8 if widest else _LINE_EM * tick_px
    return max(1, int(-(-need // (max(length, 1) / max(n, 1)))))


def plan(
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    width: int,
    height: int,
    tick_px: int = TICK_PX,
    title: str = "",
    title_px: int = TITLE_PX,
    axis_title_px: int = 14,
) -> Plan:
    """The layout of a (len(rows), len(cols)) heatmap ``width`` × ``height`` px: the one place that
    decides it, for every page.

    - Labels take at most about a third of the room; longer ones end in "…" (hover names them whole).
    - Column labels stand upright when the widest fits a cell; else every k-th is labelled, upright or
      turned 45° (whichever labels more), k chosen so that neighbours' turned boxes do not meet (a 45°
      label needs √2 line heights of pitch, not one). Row labels: every k-th, one line height apart.
    - The title is broken into lines that fit the width.
    - A cell less than MIN_CELL_PX on its shorter side makes the figure a picture, and the title says so.

    Plotly's own ``automargin`` would measure the labels after drawing and draw a second time: a third
    of every redraw while the nudge slider is dragged, so the margins are worked out here.
    """
    n_rows, n_cols = max(len(rows), 1), max(len(cols), 1)
    line = _LINE_EM * tick_px
    letter = _LETTER_EM * tick_px
    row_chars = int(min(MAX_TICK_CHARS, max(4, (0.3 * width - 2 * axis_title_px - 10) / letter)))
    col_room = 0.3 * height - 2 * axis_title_px - 8 - line  # a turned label's length, at most
    col_chars = int(min(MAX_TICK_CHARS, max(4, col_room / (0.71 * letter))))
    left = 2 * axis_title_px + 10 + label_px(rows, tick_px, row_chars)
    right = COLORBAR_PX + 14 + 3.3 * tick_px  # the colour bar and its labels ("−0.25")
    w_x = label_px(cols, tick_px, col_chars)
    pitch_x = max(width - left - right, 1) / n_cols
    # Every k-th label, k the smallest for: upright (the widest label and a gap per label), turned 45°
    # (√2 line heights between neighbours, whose boxes are turned too) or upright on end (one line height).
    needs = {0: w_x + 6, -45: 1.5 * line, -90: 1.15 * line}
    angle, k_x = min(
        ((a, max(1, int(-(-need // pitch_x)))) for a, need in needs.items()), key=lambda ak: ak[1]
    )
    if angle == -45:  # the first turned label runs down and left of its column: room for it on the left
        left = max(left, 0.71 * w_x - pitch_x / 2 + 6)
        pitch_x = max(width - left - right, 1) / n_cols
        k_x = max(1, int(-(-needs[-45] // pitch_x)))
    band = {0: 1.6 * tick_px, -45: 0.71 * (w_x + line) + 6, -90: w_x + 8}[angle]
    bottom = 2 * axis_title_px + 8 + band

    def top_for(lines: int) -> float:
        return 8 + _LINE_EM * title_px * lines + 8

    text, lines = wrap(title, width - 20, title_px)
    pitch_y = max(height - top_for(lines) - bottom, 1) / n_rows
    picture = min(pitch_x, pitch_y) < MIN_CELL_PX
    if picture:
        text, lines = wrap(title + " (picture: hover for values)", width - 20, title_px)
        pitch_y = max(height - top_for(lines) - bottom, 1) / n_rows
    k_y = int(-(-line // pitch_y))
    margin = {
        "l": round(left),
        "r": round(right),
        "t": round(top_for(lines)),
        "b": round(bottom),
        "autoexpand": False,
    }
    return Plan(
        margin=margin,
        xs=_every(len(cols), k_x),
        ys=_every(len(rows), k_y),
        angle=angle,
        row_chars=row_chars,
        col_chars=col_chars,
        cell_w=pitch_x,
        cell_h=pitch_y,
        picture=picture,
        title=text,
        title_layout=title_layout(text, lines, height, title_px),
    )


def least_height(
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    width: int,
    most: int,
    tick_px: int = TICK_PX,
    title: str = "",
    least_text: int = MIN_TEXT_SIZE,
) -> int:
    """The least height of a (len(rows), len(cols)) heatmap laid out by :func:`plan` in ``width`` px whose
    cells are still high enough for its numbers at ``least_text`` px (when it gets numbers,
    MAX_CELLS_WITH_TEXT) or for a person to point at (MIN_CELL_PX); the margins are those at ``most`` px
    high (lower, the turned labels may only get shorter)."""
    p = plan(rows, cols, width=width, height=most, tick_px=tick_px, title=title)
    cell = float(MIN_CELL_PX)
    if len(rows) * len(cols) <= MAX_CELLS_WITH_TEXT:
        cell = max(cell, _LINE_EM * least_text * 0.9 + 2)  # as :func:`cell_text` asks of a cell's height
    return int(-(-(p.margin["t"] + p.margin["b"] + len(rows) * cell) // 1))


@dataclass(frozen=True)
class HeadView:
    """The Playground's head view laid out in its room: the weights heatmap's height, the all-heads strip's
    height (0: one head, no strip) and whether the strip stands above the head selector and the weights
    (else it is drawn under the weights)."""

    weights: int
    strip: int
    strip_above: bool


def head_view(
    rows: Sequence[str],
    cols: Sequence[str],
    heads: int,
    *,
    title: str = "",
    width: int = TEXT_WIDTH,
    room_px: int = HEAD_VIEW_ROOM,
    tick_px: int = TICK_PX,
) -> HeadView:
    """How the Playground's column beside the editor holds the weights of one head (``rows`` × ``cols``,
    titled ``title``) and, with several ``heads``, the strip of every head's weights and the head selector,
    in ``room_px`` px (a projector's 1280×720 screen): the one-screen rule keeps the weights, their key
    labels included, on the screen with the editor.

    The weights come first: up to WEIGHTS_HEIGHT, never less than their cells need (:func:`least_height`).
    The strip stands above the selector when the room holds it at STRIP_LEAST or more beside those weights;
    it takes what is left, up to STRIP_MOST. Otherwise (a long sentence, or a phone, where the editor and
    the weights are to be one scroll apart) it is drawn under the weights at STRIP_MOST, still one click
    from focusing a head."""
    if heads <= 1:
        return HeadView(WEIGHTS_HEIGHT, 0, False)
    beside = room_px - SELECTOR_PX - 2 * GAP_PX  # for the strip and the weights
    need = least_height(rows, cols, width=room(width), most=WEIGHTS_HEIGHT, tick_px=tick_px, title=title)
    if on_phone() or beside - need < STRIP_LEAST:
        return HeadView(WEIGHTS_HEIGHT, STRIP_MOST, False)
    weights = min(WEIGHTS_HEIGHT, beside - STRIP_LEAST)  # at least ``need``, by the test above
    return HeadView(weights, min(STRIP_MOST, beside - weights), True)


def token_table(tokens: Sequence[str], positions: Sequence[int], ids: Sequence[int]) -> FigureSpec:
    """Tokens with their position and id as a Plotly table (tokens escaped, shown literally)."""
    return {
        "data": [
            {
                "type": "table",
                "header": {"values": ["position", "token", "id"], "align": "left", "height": 40},
                "cells": {
                    "values": [list(positions), [plotly_text(t) for t in tokens], list(ids)],
                    "align": "left",
                    "height": 36,
                },
            }
        ],
        "layout": {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}},
    }


def chart_config(name: str, image_format: str = "png") -> dict:
    """Plotly's toolbar for chart ``name``: download as PNG or SVG with a sensible file name."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": image_format, "filename": f"attention-lab-{name}", "scale": 2},
    }


def _thin(n: int, most: int) -> list[int]:
    """Indices of the ticks to label: all up to ``most``, else every k-th."""
    step = 1 if n <= most else -(-n // most)
    return list(range(0, n, step))


#: Width of a character of the cell numbers, in units of the font size (the app's sans-serif);
#: any other character counts as a digit.
_EM = {".": 0.3, "−": 0.6, "+": 0.6, "∞": 0.75, "e": 0.55}
_DIGIT_EM = 0.56


def text_px(text: str, size: int) -> float:
    """About how wide ``text`` is drawn at font ``size`` px (digits, point, sign, "e", "∞")."""
    return size * sum(_EM.get(ch, _DIGIT_EM) for ch in text)


def _weight(v: float, digits: int, lead: bool) -> str:
    """A weight with ``digits`` decimals: 0.42, or .42 without the leading zero; exactly 1 and 0 as such."""
    s = f"{v:.{digits}f}"
    if v == 0 or v == 1:
        return f"{v:.0f}"
    return s if lead or not s.startswith("0.") else s[1:]


def cell_text(
    z: np.ndarray,
    kind: Kind,
    cell_px: float,
    text_size: int,
    *,
    cell_h: float = np.inf,
    least: int = MIN_TEXT_SIZE,
) -> tuple[np.ndarray | None, int]:
    """(The numbers written in the cells, their font size), with as many digits as the cells can hold,
    or (None, 0).

    The most precise format whose widest entry fits the cell (less 4 px) at a size from ``text_size``
    down to ``least`` wins, and the text must fit the cell's height too: weights as 0.42, .42, then .4;
    other values with 4, 3 or 2 significant digits. When nothing fits, the cells stay blank (hover still
    has every value), so numbers never overlap their neighbours nor leave their cells. -inf is "−∞".
    """
    if kind == "weights":
        formats = [
            lambda v: _weight(v, 2, True),
            lambda v: _weight(v, 2, False),
            lambda v: _weight(v, 1, False),
        ]
    else:
        formats = [lambda v, d=d: f"{v:.{d}g}" for d in (4, 3, 2)]
        if np.nanmax(np.abs(np.where(np.isfinite(z), z, np.nan)), initial=0.0) < 1000:  # then fixed decimals
            formats += [lambda v: f"{v:.2f}", lambda v: f"{v:.1f}"]
    sizes = [s for s in range(text_size, least - 1, -1) if _LINE_EM * s * 0.9 <= cell_h - 2]
    if not sizes:
        return None, 0
    for f in formats:
        text = np.array(
            [["−∞" if v == -np.inf else f(v).replace("-", "−") for v in row] for row in z], dtype=object
        )
        widest = max((text_px(t, 1) for t in text.flat), default=0.0)
        for size in sizes:
            if widest * size <= cell_px - 4:
                return text, size
    return None, 0


# ----------------------------------------------------------------------------- from a trace
def step_figure(
    trace: LabTrace,
    step: Step,
    head: int = 0,
    *,
    height: int | None = None,
    text_size: int = TEXT_SIZE,
    text_width: int = TEXT_WIDTH,
    palette: str = "default",
    tick_px: int = TICK_PX,
    min_text_size: int = MIN_TEXT_SIZE,
) -> FigureSpec:
    """One registered step of one head as a heatmap; the title starts with the trace field's name.
    The sizes are the room the figure has (see :func:`heatmap`)."""
    h = trace.attention.heads[head]
    z = step.value(trace, head)
    rows, cols = labels(trace, step, z)
    extra = {"score": h.scores, "scaled score": h.scaled_scores} if step.name == "weights" else None
    return heatmap(
        z,
        title=step_title(trace, step, head),
        row_labels=rows,
        col_labels=cols,
        kind=step.kind,
        row_title="token" if step.name == "embeddings" else step.rows,
        col_title=step.cols,
        hover_extra=extra,
        height=height,
        text_size=text_size,
        text_width=text_width,
        palette=palette,
        tick_px=tick_px,
        min_text_size=min_text_size,
    )


def step_title(trace: LabTrace, step: Step, head: int = 0) -> str:
    """The title :func:`step_figure` gives the heatmap of ``step`` (plain text)."""
    suffix = f" (head {head})" if trace.attention.n_heads > 1 and step.per_head else ""
    return step.caption.replace("{c}", f"{trace.attention.heads[head].scale:.4g}") + suffix


def step_head_view(trace: LabTrace, step: Step, head: int = 0) -> HeadView:
    """:func:`head_view` for the heatmap of ``step`` that :func:`step_figure` draws (the Playground's
    weights): the heights of that heatmap and of the all-heads strip, and where the strip goes."""
    if trace.attention.n_heads <= 1:  # no strip: nothing to measure
        return head_view([], [], 1)
    rows, cols = labels(trace, step, step.value(trace, head))
    return head_view(
        [plotly_text(r) for r in rows],
        [plotly_text(c) for c in cols],
        trace.attention.n_heads,
        title=plotly_text(step_title(trace, step, head)),
    )


def step_figures(
    trace: LabTrace, head: int = 0, names: Collection[str] | None = None
) -> dict[str, FigureSpec]:
    """The registered steps that apply to ``trace`` (or only ``names``), keyed by trace field."""
    return {s.name: step_figure(trace, s, head) for s in steps_for(trace) if names is None or s.name in names}


def marked(fig: FigureSpec, i: int, j: int) -> FigureSpec:
    """``fig`` with cell (i, j) outlined (the weight whose arithmetic is shown)."""
    box = {
        "type": "rect",
        "xref": "x",
        "yref": "y",
        "x0": j - 0.5,
        "x1": j + 0.5,
        "y0": i - 0.5,
        "y1": i + 0.5,
        "line": {"color": "#ff2d95", "width": 4},
    }
    return {**fig, "layout": {**fig["layout"], "shapes": [*fig["layout"].get("shapes", []), box]}}


def with_click_layer(fig: FigureSpec) -> FigureSpec:
    """Add an invisible marker on every cell so a click selects it.

    Plotly heatmap clicks do not reach Streamlit (streamlit#8760); a scatter
    trace with one transparent marker per cell does, through
    ``st.plotly_chart(on_select="rerun")``: the selected point's
    ``point_index`` is ``row * n_cols + col``. The heatmap's hover moves to the
    markers so hovering still explains the cell. Large matrices get no layer.
    """
    hm = fig["data"][0]
    if hm["type"] != "heatmap" or len(hm["y"]) * len(hm["x"]) > MAX_CELLS_CLICKABLE:
        return fig  # a picture (large matrix) or too many cells: no layer
    n_rows, n_cols = len(hm["y"]), len(hm["x"])
    z = np.asarray(hm["z"], dtype=np.float64)
    extra = (
        np.asarray(hm["customdata"], dtype=np.float64).reshape(n_rows * n_cols, -1)
        if "customdata" in hm
        else np.zeros((n_rows * n_cols, 0))
    )
    custom = np.concatenate([z.reshape(-1, 1), extra], axis=1)  # (cells, 1 + extras)
    hover = re.sub(
        r"customdata\[(\d+)\]", lambda m: f"customdata[{int(m.group(1)) + 1}]", hm["hovertemplate"]
    )
    marker = {
        "type": "scatter",
        "mode": "markers",
        "name": "cells",
        "showlegend": False,
        "x": [x for _ in range(n_rows) for x in hm["x"]],
        "y": [y for y in hm["y"] for _ in range(n_cols)],
        "marker": {"size": max(6, min(40, 400 // max(n_rows, n_cols))), "opacity": 0.0, "color": "black"},
        "customdata": np.where(np.isfinite(custom), custom, None).tolist(),
        "hovertemplate": hover.replace("%{z:.6g}", "%{customdata[0]:.6g}"),
    }
    heat = {**hm, "hoverinfo": "skip"}
    heat.pop("hovertemplate")
    heat.pop(
        "customdata", None
    )  # the markers carry it now (Plotly checked it value by value: half the build)
    return {
        "data": [heat, marker],
        "layout": {**fig["layout"], "clickmode": "event+select", "dragmode": False},
    }


#: The all-heads strip's click layer: its invisible markers are at most this many px apart (Plotly gives a
#: click to the nearest point within 20 px), and there are at most this many of them.
TILE_MARKER_PX = 10
MAX_TILE_MARKERS = 2000


def with_tile_click_layer(fig: FigureSpec, heads: int, m: int, k: int) -> FigureSpec:
    """:func:`head_weights_figure`'s ``fig`` (``heads`` tiles of ``m`` × ``k`` weights) with invisible markers
    over every tile, so that a click anywhere on a tile selects a point whose x gives its head
    (``x // (k + 1)``), through ``st.plotly_chart(on_select=...)``: a heatmap's or a picture's own clicks
    select nothing (streamlit#8760). The markers are a few px apart in the room the figure is laid out for
    (not one per weight: at 64 tokens × 8 heads that were 32,768 markers); hover keeps the heatmap's."""
    layout = fig["layout"]
    margin = layout["margin"]
    plot_w = max(room(TEXT_WIDTH) - margin["l"] - margin["r"], 1)
    plot_h = max(layout["height"] - margin["t"] - margin["b"], 1)
    tile_w = plot_w * k / max(heads * (k + 1) - 1, 1)
    gx = max(1, min(k, int(-(-tile_w // TILE_MARKER_PX)) + 1))
    gy = max(1, min(m, int(-(-plot_h // TILE_MARKER_PX)) + 1, MAX_TILE_MARKERS // (heads * gx)))
    cols = np.linspace(0, k - 1, gx)
    rows = np.linspace(0, m - 1, gy)
    x = [round(h * (k + 1) + c, 3) for h in range(heads) for _ in rows for c in cols]
    y = [round(r, 3) for _ in range(heads) for r in rows for _ in cols]
    size = 2 * max(plot_w / max(heads * gx, 1), plot_h / gy, TILE_MARKER_PX)
    marker = {
        "type": "scatter",
        "mode": "markers",
        "name": "heads",
        "showlegend": False,
        "x": x,
        "y": y,
        "marker": {"size": min(40, round(size)), "opacity": 0.0, "color": "black"},
        "hoverinfo": "none",  # clicks still count; the hover box stays the heatmap's
    }
    # The tiles fill the plot, as without the markers (their size would pad Plotly's autorange).
    xaxis = {**layout["xaxis"], "range": [-0.5, heads * (k + 1) - 1.5]}
    yaxis = {k_: v for k_, v in layout["yaxis"].items() if k_ != "autorange"} | {"range": [m - 0.5, -0.5]}
    return {
        "data": [*fig["data"], marker],
        "layout": {**layout, "xaxis": xaxis, "yaxis": yaxis, "clickmode": "event+select", "dragmode": False},
    }


# ---------------------------------------------------------------------------- many heads at once


def head_tiles(attentions: np.ndarray) -> np.ndarray:
    """(L, H, m, k) weights laid out as one (L·(m+1) − 1, H·(k+1) − 1) float32 matrix.

    Tile (l, h) is head h of layer l; one NaN row/column (a gap in the picture) separates tiles.
    """
    layers, heads, m, k = attentions.shape
    out = np.full((layers * (m + 1) - 1, heads * (k + 1) - 1), np.nan, dtype=np.float32)
    for l in range(layers):
        for h in range(heads):
            out[l * (m + 1) : l * (m + 1) + m, h * (k + 1) : h * (k + 1) + k] = attentions[l, h]
    return out


def tile_shrink(heads: int, m: int, k: int, most: int = MAX_CELLS_AS_HEATMAP) -> int:
    """The smallest s ≥ 1 such that ``heads`` tiles of (m, k) cells, each shrunk to ⌈m/s⌉ × ⌈k/s⌉ and
    separated by one gap column, hold at most ``most`` cells (or s that makes every tile one cell)."""
    s = 1
    while -(-m // s) * (heads * (-(-k // s) + 1) - 1) > most and (s < m or s < k):
        s += 1 if s < 8 else s // 4  # a few dozen steps even at 1,024 tokens
    return s


def shrink(w: np.ndarray, s: int) -> np.ndarray:
    """(m, k) → (⌈m/s⌉, ⌈k/s⌉) float32: each s × s block's mean (what an overview can show of it)."""
    w = np.asarray(w, dtype=np.float32)
    if s == 1:
        return w
    m, k = w.shape
    padded = np.full((-(-m // s) * s, -(-k // s) * s), np.nan, dtype=np.float32)
    padded[:m, :k] = w
    blocks = padded.reshape(padded.shape[0] // s, s, padded.shape[1] // s, s)  # (m/s, s, k/s, s)
    with np.errstate(invalid="ignore"):
        return np.nanmean(blocks, axis=(1, 3))


def head_weights_figure(
    trace: LabTrace,
    *,
    height: int = 300,
    palette: str = "default",
    text_width: int = TEXT_WIDTH,
    tick_px: int = TICK_PX,
) -> FigureSpec:
    """Every head's weights of the lab side by side (small multiples, one 0..1 scale); a click on a
    tile's cell gives an x from which the head is ``x // (n_k + 1)``.

    The size rule holds here as for every figure: up to :data:`MAX_CELLS_AS_HEATMAP` cells the tiles
    are a heatmap; beyond, one palette picture, each tile shrunk to the mean of s × s blocks so that
    the picture holds at most that many pixels (1,024 tokens × 8 heads were a 47 MB chart; 128 tokens
    × 768 heads 72 MB). The picture keeps the heatmap's x units, so a click finds the same head.
    """
    heads_ = trace.attention.heads
    heads, (m, k) = len(heads_), heads_[0].weights.shape
    s = tile_shrink(heads, m, k)
    ms, ks = -(-m // s), -(-k // s)
    z = np.full((ms, heads * (ks + 1) - 1), np.nan, dtype=np.float32)  # (n_q/s, H·(n_k/s + 1) − 1)
    for h, head in enumerate(heads_):  # one head at a time: no (H, n_q, n_k) copy of every weight
        z[:, h * (ks + 1) : h * (ks + 1) + ks] = shrink(head.weights, s)
    centres = [h * (k + 1) + (k - 1) / 2 for h in range(heads)]
    # The room decides the labels, as in :func:`plan`: a head's name per tile while they fit, the rows'
    # tokens one line height apart; cells smaller than MIN_CELL_PX make it a picture, said in the title.
    width = room(text_width)
    tokens = [plotly_text(t) for t in trace.tokens_q.tokens][:m]
    left = 10 + label_px(tokens, tick_px, 10) if s == 1 else 10
    tile_w = (width - left - 10) / heads
    name = "head {}" if tile_w >= label_px(["head 00"], tick_px) + 8 else "{}"
    labelled = _every(heads, int(-(-(label_px([name.format(heads - 1)], tick_px) + 8) // tile_w)))
    cell = min(tile_w / (k + 1), (height - 50) / m)
    picture = ", a picture" if cell < MIN_CELL_PX else ""
    title, lines = wrap(f"all {heads} heads' weights{picture} (click one to focus it)", width - 20)
    if lines > 1:  # one line if a shorter title fits: the strip's height goes to its tiles
        short, one = wrap(f"all {heads} heads{picture} (click one to focus it)", width - 20)
        title, lines = (short, one) if one < lines else (title, lines)
    top = 8 + _LINE_EM * TITLE_PX * lines + 8
    xaxis = {
        "tickmode": "array",
        "tickvals": [centres[h] for h in labelled],
        "tickfont": {"size": tick_px},
        "ticktext": [name.format(h) for h in labelled],
        "showgrid": False,
        "zeroline": False,
    }
    if s == 1:  # every weight fits the heatmap
        data = {
            "type": "heatmap",
            "z": z,
            "colorscale": colorscales(palette)[0],
            "zmin": 0.0,
            "zmax": 1.0,
            "hovertemplate": "weight %{z:.4f}<extra></extra>",
            "hoverongaps": False,
        }
        ys = _every(m, int(-(-(_LINE_EM * tick_px) // ((height - top - 10 - 2 * tick_px) / m))))
        yaxis = {
            "tickmode": "array",
            "tickvals": ys,
            "ticktext": [_tick(tokens[i], 10) for i in ys],
            "tickfont": {"size": tick_px},
            "autorange": "reversed",
            "showgrid": False,
            "zeroline": False,
        }
    else:
        import base64

        png = _palette_png(z, colorscales(palette)[0])
        dx = (k + 1) / (ks + 1)  # picture column → heatmap x: tile h starts at h·(n_k + 1) either way
        data = {
            "type": "image",
            "source": "data:image/png;base64," + base64.b64encode(png).decode(),
            "x0": (dx - 1) / 2,
            "dx": dx,
            "y0": (s - 1) / 2,
            "dy": s,
            "meta": {"shape": list(z.shape)},
            "hovertemplate": "query row %{y:.0f}<extra></extra>",
        }
        title, lines = wrap(
            f"all {heads} heads' weights (click one to focus it; a picture: each cell the "
            f"mean of {s} × {s} weights)",
            width - 20,
        )
        top = 8 + _LINE_EM * TITLE_PX * lines + 8
        xaxis["range"] = [-0.5, heads * (k + 1) - 1.5]
        yaxis = {"range": [m - 0.5, -0.5], "showgrid": False, "zeroline": False, "showticklabels": False}
    return {
        "data": [data],
        "layout": {
            "title": title_layout(title, lines, height),
            "height": height,
            "margin": {
                "l": round(left),
                "r": 10,
                "t": round(top),
                "b": round(10 + 2 * tick_px),
                "autoexpand": False,
            },
            "xaxis": xaxis,
            "yaxis": yaxis,
        },
    }


def _palette_png(
    z: np.ndarray, colorscale: str | list = WEIGHTS_SCALE, zmin: float = 0.0, zmax: float = 1.0
) -> bytes:
    """(rows, cols) values as a palette PNG: 255 colours of ``colorscale`` from zmin to zmax, NaN white."""
    import io

    from PIL import Image  # a Streamlit dependency
    from plotly.colors import get_colorscale, hex_to_rgb, unlabel_rgb

    scale = (
        get_colorscale(colorscale) if isinstance(colorscale, str) else colorscale
    )  # [[position, colour], …]
    xs = np.array([float(p) for p, _ in scale])
    stops = np.array(
        [hex_to_rgb(c) if c.startswith("#") else unlabel_rgb(c) for _, c in scale], dtype=np.float64
    )
    lut = np.stack([np.interp(np.linspace(0, 1, 255), xs, stops[:, c]) for c in range(3)], axis=1)  # (255, 3)
    palette = np.vstack([np.rint(lut), [255, 255, 255]]).astype(np.uint8)  # index 255: NaN (masked, gaps)
    span = (zmax - zmin) or 1.0
    with np.errstate(invalid="ignore"):
        idx = np.clip((np.nan_to_num(z, nan=zmin) - zmin) / span * 254 + 0.5, 0, 254).astype(np.uint8)
    idx[np.isnan(z)] = 255
    img = Image.fromarray(idx)  # mode "L"; putpalette makes it "P"
    img.putpalette(palette.tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _picture(
    z: np.ndarray,
    *,
    title: str,
    rows: list[str],
    cols: list[str],
    xs: list[int],
    ys: list[int],
    row_title: str,
    col_title: str,
    height: int | None,
    colorscale: str | list,
    zmin: float,
    zmax: float,
) -> FigureSpec:
    """A large matrix as one picture: the same colours, axes and title as :func:`heatmap`.

    One invisible 1 x 2 heatmap outside the visible range carries the colour bar. Hover names
    the row and column numbers (the picture holds colours, not values).
    """
    import base64

    n_rows, n_cols = z.shape
    xs, ys = _thin(n_cols, min(len(xs), 16)), _thin(n_rows, min(len(ys), 32))  # a picture is often half-width
    png = _palette_png(z, colorscale, zmin, zmax)
    text, lines = wrap(plotly_text(title) + " (picture)", room(TEXT_WIDTH) - 20)
    return {
        "data": [
            {
                "type": "image",
                "source": "data:image/png;base64," + base64.b64encode(png).decode(),
                "x0": 0,
                "dx": 1,
                "y0": 0,
                "dy": 1,
                "meta": {"shape": [n_rows, n_cols]},
                "hovertemplate": f"{row_title} %{{y}}<br>{col_title} %{{x}}<extra></extra>",
            },
            {
                "type": "heatmap",
                "z": [[zmin, zmax]],
                "x": [n_cols + 10, n_cols + 11],
                "y": [n_rows + 10],
                "colorscale": colorscale,
                "zmin": zmin,
                "zmax": zmax,
                "hoverinfo": "skip",
                "opacity": 0,
            },
        ],
        "layout": {
            "title": title_layout(text, lines, height or 700),
            "margin": {"l": 10, "r": 10, "t": round(16 + _LINE_EM * TITLE_PX * lines), "b": 10},
            "height": height or 700,
            "xaxis": {
                "range": [-0.5, n_cols - 0.5],
                "tickmode": "array",
                "tickvals": xs,
                "ticktext": [cols[j] for j in xs],
                "side": "bottom",
                "title": {"text": col_title},
                "tickangle": -45 if len(xs) > 8 else 0,
                "showgrid": False,
                "zeroline": False,
            },
            "yaxis": {
                "range": [n_rows - 0.5, -0.5],
                "tickmode": "array",
                "tickvals": ys,
                "ticktext": [rows[i] for i in ys],
                "title": {"text": row_title},
                "showgrid": False,
                "zeroline": False,
                "scaleanchor": False,
            },  # fill the chart like a heatmap, not square pixels
        },
    }


def head_grid(attentions: np.ndarray, *, as_image: bool = False) -> FigureSpec:
    """Every head of every layer as small multiples, one colour scale (0 to 1).

    ``attentions`` is ``(layers, heads, m, m)``. As a heatmap (float32, no cell text) hover
    shows each weight; ``as_image=True`` sends one palette PNG instead of the numbers (for
    long sentences: 128 tokens are ~0.3 MB instead of ~6 MB), without hover.
    """
    import base64

    layers, heads, m, _ = attentions.shape
    z = head_tiles(np.asarray(attentions))
    # One label per tile while "head 11" fits its tile's width (or "layer 29" its height), else every k-th.
    width = room(1200) - 40
    every, every_y = tick_step(heads, width, "head 00"), tick_step(layers, 480)
    as_image = as_image or z.size > MAX_CELLS_AS_HEATMAP  # the size rule: a large grid is sent as a picture
    centres = [k * (m + 1) + (m - 1) / 2 for k in range(max(layers, heads))]
    title = f"all {layers * heads} heads: weights (rows: layers 0-{layers - 1}, columns: heads 0-{heads - 1})"
    if as_image:
        trace = {
            "type": "image",
            "source": "data:image/png;base64," + base64.b64encode(_palette_png(z)).decode(),
            "hoverinfo": "skip",
        }
        title += "; a picture: yellow = 1, dark blue = 0"
    else:
        title += ", a picture (hover for a weight)"  # tiles of one pixel per few weights: an overview
        trace = {
            "type": "heatmap",
            "z": z,
            "colorscale": WEIGHTS_SCALE,
            "zmin": 0.0,
            "zmax": 1.0,
            "hovertemplate": "weight %{z:.4f}<extra></extra>",
            "hoverongaps": False,
        }
    text, lines = wrap(title, room(800) - 20)
    return {
        "data": [trace],
        "layout": {
            "title": title_layout(text, lines, 580),
            "height": 580,
            "margin": {"l": 10, "r": 10, "t": round(16 + _LINE_EM * TITLE_PX * lines), "b": 10},
            "xaxis": {
                "tickmode": "array",
                "tickvals": centres[:heads][::every],
                "ticktext": [f"head {h}" for h in range(heads)][::every],
                "side": "bottom",
                "showgrid": False,
                "zeroline": False,
                "showticklabels": True,
            },
            "yaxis": {
                "tickmode": "array",
                "tickvals": centres[:layers][::every_y],
                "ticktext": [f"layer {i}" for i in range(layers)][::every_y],
                "autorange": "reversed",
                "showgrid": False,
                "zeroline": False,
            },
        },
    }
