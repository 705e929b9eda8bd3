"""ui.figures: a large matrix becomes one picture whose pixels are the matrix's colours."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

from ui.figures import MAX_CELLS_AS_HEATMAP, heatmap


def decode(fig: dict) -> tuple[np.ndarray, np.ndarray]:
    """(palette indices (rows, cols), palette (256, 3)) of the figure's picture."""
    img = Image.open(io.BytesIO(base64.b64decode(fig["data"][0]["source"].split(",", 1)[1])))
    assert img.mode == "P"
    return np.array(img), np.array(img.getpalette()[: 256 * 3]).reshape(256, 3)


def test_small_matrices_stay_heatmaps_with_values() -> None:
    fig = heatmap(
        np.full((256, 256), 0.5),
        title="weights",
        row_labels=[str(i) for i in range(256)],
        col_labels=[str(i) for i in range(256)],
        kind="weights",
    )
    assert 256 * 256 == MAX_CELLS_AS_HEATMAP and fig["data"][0]["type"] == "heatmap"


def test_large_weights_are_a_picture_with_viridis_pixels() -> None:
    n = 300
    rs = np.random.RandomState(1)
    w = rs.dirichlet(np.ones(n), size=n)
    w[5, :] = np.linspace(0, 1, n)  # a row that spans the whole scale
    labels = [f"t{i}" for i in range(n)]
    fig = heatmap(w, title="weights", row_labels=labels, col_labels=labels, kind="weights")
    image, carrier = fig["data"]
    assert image["type"] == "image" and image["meta"] == {"shape": [n, n]}
    assert (
        carrier["type"] == "heatmap"
        and carrier["opacity"] == 0
        and carrier["zmin"] == 0
        and carrier["zmax"] == 1
    )
    assert fig["layout"]["title"]["text"] == "weights (picture)"
    assert fig["layout"]["yaxis"]["range"] == [n - 0.5, -0.5]  # row 0 at the top, as in the heatmaps
    idx, palette = decode(fig)
    assert idx.shape == (n, n)
    np.testing.assert_array_equal(idx, np.rint(w * 254).astype(int))  # 255 levels over 0..1
    # Each level is Plotly's own Viridis at that position, to the rounding of one channel.
    expected = np.array(
        [unlabel_rgb(c) for c in sample_colorscale(get_colorscale("Viridis"), list(np.linspace(0, 1, 255)))]
    )
    assert np.abs(palette[:255] - expected).max() <= 1


def test_large_scores_are_diverging_and_masked_cells_white() -> None:
    n = 260
    s = np.linspace(-3, 3, n * n).reshape(n, n)
    s[np.triu_indices(n, 1)] = -np.inf  # causal: masked cells
    labels = [f"t{i}" for i in range(n)]
    fig = heatmap(s, title="masked_scores", row_labels=labels, col_labels=labels, kind="scores")
    idx, palette = decode(fig)
    assert (idx[np.triu_indices(n, 1)] == 255).all() and tuple(palette[255]) == (255, 255, 255)
    bound = fig["data"][1]["zmax"]
    assert fig["data"][1]["zmin"] == -bound and bound == 3.0
    assert idx[n - 1, 0] == round((s[n - 1, 0] + 3) / 6 * 254) and idx[n - 1, n - 1] == 254


def test_held_bytes_counts_what_a_figure_built_from_the_spec_keeps() -> None:
    from ui.figures import held_bytes

    z = np.zeros((64, 64))  # 32 KB of float64
    labels = np.array([f"{i}·word" for i in range(64)], dtype=object)
    spec = {
        "data": [{"type": "heatmap", "z": z, "x": labels, "y": labels, "customdata": [[0.5, None]] * 10}],
        "layout": {"title": {"text": "weights"}},
    }
    n = held_bytes(spec)
    strings = 2 * sum(49 + len(s) + 8 for s in labels)  # x and y: each string and its pointer
    assert (
        z.nbytes + strings < n < z.nbytes + strings + 2_000
    )  # + the list of 20 numbers, keys and short strings
    assert (
        held_bytes(np.zeros(1000, dtype=np.float32)) == 4000
        and held_bytes("abc") == 52
        and held_bytes(1.5) == 32
    )
