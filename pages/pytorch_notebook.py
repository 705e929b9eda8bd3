"""PyTorch notebook (002): "Life is short, eat dessert first", manual_seed(123), q = W x."""

from __future__ import annotations

import numpy as np

from attention_core import PRESETS
from ui import shared
from ui.walkthrough import render

head = shared.cached_run_lab(PRESETS["pytorch_notebook"].config).attention.heads[0]
# The notebook prints the second token's row ("is"): omega_2 = query_2 · keys, and its softmax.
render(
    "pytorch_notebook",
    show_printed={
        "omega_24": np.array([head.scores[1, 4]]),
        "omega_2": head.scores[1],
        "attention_weights_2": head.weights[1],
    },
)
