"""The palettes (ui/palettes.py) under simulated colour-vision deficiencies.

Every scale is sampled as Plotly draws it (linear in sRGB between its stops), passed through
colorspacious' simulation of deuteranopia, protanopia and tritanopia (Machado et al. 2009,
severity 100: the dichromat's view) and measured in CAM02-UCS, where a distance ΔE' of about 1
is one just-noticeable difference between large patches under good viewing.

- Lightness J' is strictly monotone along each sequential scale, and strictly decreasing from
  the centre outwards along each half of each diverging scale: more colour always means more
  (or less) value, whatever hue a viewer sees.
- The ends stay far apart. Heatmap cells are small and a projector washes colours out, so the
  margins are tens of JNDs, not a few: the 0 and 1 of a weights scale at least ΔE' 60 apart (more
  than half the lightness range); the two signs of a diverging scale at least 30 apart (by design
  they have similar lightness, so this is hue alone; Plotly's RdBu_r drops to 24 under
  protanopia and is refused, as checked below); each sign at least 40 from the centre.
"""

from __future__ import annotations

import numpy as np
import pytest
from colorspacious import cspace_convert
from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

from attention_core import ValidationError
from ui.palettes import PALETTES, Colorscale, colorscales

SAMPLES = 65  # odd: the centre of a diverging scale is a sample
VISIONS = {
    "normal": None,
    **{
        name: {"name": "sRGB1+CVD", "cvd_type": kind, "severity": 100}
        for name, kind in (
            ("deuteranopia", "deuteranomaly"),
            ("protanopia", "protanomaly"),
            ("tritanopia", "tritanomaly"),
        )
    },
}
SEQUENTIAL_ENDS, DIVERGING_ENDS, DIVERGING_CENTRE_TO_END = 60.0, 30.0, 40.0


def seen(scale: Colorscale, vision: dict | None) -> np.ndarray:
    """(SAMPLES, 3) CAM02-UCS coordinates (J', a', b') of the scale as a person with ``vision`` sees it."""
    rgb = np.array([unlabel_rgb(c) for c in sample_colorscale(scale, list(np.linspace(0, 1, SAMPLES)))]) / 255
    if vision is not None:
        rgb = np.clip(cspace_convert(rgb, vision, "sRGB1"), 0, 1)
    return cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def delta_e(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def diverging_failures(scale: Colorscale, vision: dict | None) -> list[str]:
    jab = seen(scale, vision)
    c = SAMPLES // 2
    out = []
    for side, half in (("negative", jab[c::-1]), ("positive", jab[c:])):
        if not (np.diff(half[:, 0]) < 0).all():
            out.append(f"{side} half: lightness not decreasing from the centre outwards")
        if delta_e(half[0], half[-1]) < DIVERGING_CENTRE_TO_END:
            out.append(f"{side} end only ΔE' {delta_e(half[0], half[-1]):.1f} from the centre")
    if delta_e(jab[0], jab[-1]) < DIVERGING_ENDS:
        out.append(f"the two signs only ΔE' {delta_e(jab[0], jab[-1]):.1f} apart")
    return out


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("palette", PALETTES)
def test_sequential_scale_is_monotone_in_lightness_and_its_ends_far_apart(palette: str, vision: str) -> None:
    jab = seen(colorscales(palette)[0], VISIONS[vision])
    steps = np.diff(jab[:, 0])
    assert (steps > 0).all() or (steps < 0).all(), f"{palette} under {vision}: J' steps {steps.round(2)}"
    assert delta_e(jab[0], jab[-1]) >= SEQUENTIAL_ENDS, (
        f"{palette} under {vision}: {delta_e(jab[0], jab[-1]):.1f}"
    )


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("palette", PALETTES)
def test_diverging_scale_darkens_outwards_and_keeps_its_signs_apart(palette: str, vision: str) -> None:
    assert diverging_failures(colorscales(palette)[1], VISIONS[vision]) == []


def test_the_check_refuses_rdbu_under_protanopia() -> None:
    """The usual red–blue scale: its signs merge for a protanope (the reason it is not used)."""
    assert diverging_failures(get_colorscale("RdBu_r"), VISIONS["protanopia"]) == [
        "the two signs only ΔE' 24.1 apart"
    ]
    assert diverging_failures(get_colorscale("RdBu_r"), VISIONS["normal"]) == []


def test_colorscales_are_plotly_lists_from_0_to_1_and_unknown_names_are_refused() -> None:
    for palette in PALETTES:
        for scale in colorscales(palette):
            positions = [p for p, _ in scale]
            assert positions[0] == 0 and positions[-1] == 1 and positions == sorted(positions)
    assert colorscales() == colorscales("default")
    with pytest.raises(ValidationError, match="high-contrast"):
        colorscales("rainbow")
