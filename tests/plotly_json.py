"""Reading the figures an AppTest run sent: Plotly JSON back to NumPy arrays, figures by title."""

from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest


def decode(value: object) -> np.ndarray:
    """A Plotly array from figure JSON: a list (null → NaN), or a base64 typed array {dtype, bdata, shape}."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            arr = arr.reshape([int(s) for s in str(shape).split(",")])
        return arr.astype(np.float64)
    return np.array([[np.nan if v is None else v for v in row] for row in value], dtype=np.float64)


def figures(at: AppTest) -> dict[str, dict]:
    """Figures on the page by title (the trace field name starts each title)."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def fig(at: AppTest, prefix: str) -> dict:
    """The one figure whose title starts with ``prefix``."""
    matches = [spec for title, spec in figures(at).items() if title.startswith(prefix)]
    assert len(matches) == 1, f"expected one figure titled {prefix!r}, got {list(figures(at))}"
    return matches[0]


def chart_z(chart: object) -> np.ndarray:
    """The cell values of a chart's first trace (a heatmap's z)."""
    return decode(json.loads(chart.proto.spec)["data"][0]["z"])  # type: ignore[attr-defined]
