"""Colour palettes for the heatmaps: a sequential scale for weights (0..1) and a diverging scale
for signed values (scores, embeddings, projections), as Plotly colorscale lists.

Three palettes, each checked by ``tests/test_palettes.py`` under simulated deuteranopia,
protanopia and tritanopia (lightness monotone along every scale and outwards from the centre
of every diverging one; the ends far apart):

- ``default``: Viridis for weights; blue–white–orange for signed values. (Plotly's RdBu_r, the
  usual choice, fails: under protanopia its blue and red ends come within ΔE' 24 of each other.)
- ``colour-blind``: Cividis (designed to look the same to deuteranopes and protanopes) for
  weights; the same blue–white–orange for signed values.
- ``high-contrast`` (projectors, which wash out colour and compress lightness): white → black
  for weights (0 is the page, 1 is ink: the whole lightness range, no reliance on hue); a darker
  blue–white–orange for signed values.

A colorscale is Plotly's ``[[position, colour], ...]`` with positions from 0 to 1.
"""

from __future__ import annotations

from plotly.colors import make_colorscale, sequential

from attention_core import ValidationError

Colorscale = list[list[float | str]]

# ColorBrewer RdBu's blue half, then PuOr's orange half: a blue–orange diverging scale whose two
# signs stay apart under all three colour-vision deficiencies (blue and orange are the pair that
# deuteranopes and protanopes see best; tritanopes still see blue against orange-brown).
_BLUE_ORANGE = [
    "#053061",
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#d1e5f0",
    "#f7f7f7",
    "#fee0b6",
    "#fdb863",
    "#e08214",
    "#b35806",
    "#7f3b08",
]
# ColorBrewer Blues and Oranges: white centre, darker ends (a longer lightness range per half).
_BLUE_ORANGE_DEEP = [
    "#08306b",
    "#2171b5",
    "#6baed6",
    "#c6dbef",
    "#ffffff",
    "#fdd0a2",
    "#fd8d3c",
    "#d94801",
    "#7f2704",
]

_PALETTES: dict[str, tuple[list[str], list[str]]] = {
    "default": (sequential.Viridis, _BLUE_ORANGE),
    "colour-blind": (sequential.Cividis, _BLUE_ORANGE),
    "high-contrast": (["#ffffff", "#000000"], _BLUE_ORANGE_DEEP),
}
#: The palette names, the default first.
PALETTES: tuple[str, ...] = tuple(_PALETTES)


def colorscales(palette: str = "default") -> tuple[Colorscale, Colorscale]:
    """(sequential, diverging) Plotly colorscales of ``palette``; ``ValidationError`` names the choices."""
    if palette not in _PALETTES:
        raise ValidationError(f"unknown palette {palette!r}: choose one of {', '.join(PALETTES)}")
    seq, div = _PALETTES[palette]
    return make_colorscale(list(seq)), make_colorscale(list(div))
