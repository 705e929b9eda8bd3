"""attention_core: the attention mechanism in NumPy, every intermediate returned.

Pure NumPy; knows nothing of Streamlit or Plotly. Start with::

    from attention_core import self_attention, tokenize, PRESETS, run_lab
    trace = PRESETS["numpy_notebook"].trace()
    trace.attention.heads[0].weights   # (4, 4) the notebook's softmax weights
"""

from __future__ import annotations

from .alibi import alibi_bias, alibi_slopes
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
from .gqa import grouped_query_attention, kv_head_of
from .kernel import attend, score_kinds
from .kv_cache import KVCacheTrace, kv_cache_bytes_per_token, kv_cache_decode
from .lab import LabConfig, LabTrace, run_lab
from .losses import output_squared_error, weights_cross_entropy
from .normalisers import NORMALISERS
from .optim import AdamState, adam_init, adam_step, gd_step
from .options import AttentionOptions
from .positions import add_positions, learned_positions, position_table, sinusoidal_positions
from .presets import PRESETS, Preset
from .rng import NumpyGenerator, RGenerator, TorchGenerator, draw_matrix, embedding_init, r_matrix
from .rope import rope, rope_heads
from .tiled import TiledTrace, state_after, tiled_attention
from .tokenize import Tokenization, tokenize
from .trace import AttentionTrace, MultiHeadTrace
from .window import sliding_window_mask

__all__ = [
    "NORMALISERS",
    "PRESETS",
    "AdamState",
    "AttentionGrads",
    "AttentionOptions",
    "AttentionTrace",
    "KVCacheTrace",
    "LabConfig",
    "LabTrace",
    "MultiHeadGrads",
    "MultiHeadTrace",
    "NumpyGenerator",
    "Preset",
    "RGenerator",
    "TiledTrace",
    "Tokenization",
    "TorchGenerator",
    "ValidationError",
    "adam_init",
    "adam_step",
    "add_positions",
    "alibi_bias",
    "alibi_slopes",
    "attend",
    "attention_backward",
    "causal_mask",
    "cross_attention",
    "draw_matrix",
    "embedding_init",
    "explain_weight",
    "from_column_convention",
    "gd_step",
    "grouped_query_attention",
    "kv_cache_bytes_per_token",
    "kv_cache_decode",
    "kv_head_of",
    "learned_positions",
    "multi_head_attention",
    "multi_head_backward",
    "output_squared_error",
    "position_table",
    "r_compute_weights",
    "r_matrix",
    "rope",
    "rope_heads",
    "run_lab",
    "scaled_dot_product_attention",
    "score_kinds",
    "self_attention",
    "sinusoidal_positions",
    "sliding_window_mask",
    "softmax",
    "state_after",
    "tiled_attention",
    "tokenize",
    "weights_cross_entropy",
]
