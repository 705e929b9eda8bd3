"""attention_core: the attention mechanism in NumPy, every intermediate returned.

Pure NumPy; knows nothing of Streamlit or Plotly. Start with::

    from attention_core import self_attention, tokenize, PRESETS, run_lab
    trace = PRESETS["numpy_notebook"].trace()
    trace.attention.heads[0].weights   # (4, 4) the notebook's softmax weights
"""

from __future__ import annotations

from .attention import (
    causal_mask,
    cross_attention,
    explain_weight,
    from_column_convention,
    multi_head_attention,
    r_compute_weights,
    scaled_dot_product_attention,
    self_attention,
    softmax,
)
from .backward import AttentionGrads, MultiHeadGrads, attention_backward, multi_head_backward
from .errors import ValidationError
from .lab import LabConfig, LabTrace, run_lab
from .losses import output_squared_error, weights_cross_entropy
from .optim import AdamState, adam_init, adam_step, gd_step
from .presets import PRESETS, Preset
from .rng import NumpyGenerator, RGenerator, TorchGenerator, draw_matrix, embedding_init, r_matrix
from .tokenize import Tokenization, tokenize
from .trace import AttentionTrace, MultiHeadTrace

__all__ = [
    "PRESETS",
    "AdamState",
    "AttentionGrads",
    "AttentionTrace",
    "LabConfig",
    "LabTrace",
    "MultiHeadGrads",
    "MultiHeadTrace",
    "NumpyGenerator",
    "Preset",
    "RGenerator",
    "Tokenization",
    "TorchGenerator",
    "ValidationError",
    "adam_init",
    "adam_step",
    "attention_backward",
    "causal_mask",
    "cross_attention",
    "draw_matrix",
    "embedding_init",
    "explain_weight",
    "from_column_convention",
    "gd_step",
    "multi_head_attention",
    "multi_head_backward",
    "output_squared_error",
    "r_compute_weights",
    "r_matrix",
    "run_lab",
    "scaled_dot_product_attention",
    "self_attention",
    "softmax",
    "tokenize",
    "weights_cross_entropy",
]
