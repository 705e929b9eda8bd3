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
from .errors import ValidationError
from .gqa import grouped_query_attention, kv_head_of
from .lab import LabConfig, LabTrace, run_lab
from .presets import PRESETS, Preset
from .rope import rope
from .rng import NumpyGenerator, RGenerator, TorchGenerator, draw_matrix, embedding_init, r_matrix
from .tokenize import Tokenization, tokenize
from .trace import AttentionTrace, MultiHeadTrace

__all__ = [
    "PRESETS",
    "AttentionTrace",
    "LabConfig",
    "LabTrace",
    "MultiHeadTrace",
    "NumpyGenerator",
    "Preset",
    "RGenerator",
    "Tokenization",
    "TorchGenerator",
    "ValidationError",
    "causal_mask",
    "cross_attention",
    "draw_matrix",
    "embedding_init",
    "explain_weight",
    "from_column_convention",
    "grouped_query_attention",
    "kv_head_of",
    "multi_head_attention",
    "r_compute_weights",
    "r_matrix",
    "rope",
    "run_lab",
    "scaled_dot_product_attention",
    "self_attention",
    "softmax",
    "tokenize",
]
