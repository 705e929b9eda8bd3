"""What the two real models share (issue 28): one forward cache, one ``head_config`` shape, pinned shapes.

all-MiniLM-L6-v2 (:mod:`attention_core.pretrained.minilm`) and SmolLM2-135M
(:mod:`attention_core.pretrained.smollm2`) both cache forward passes in a
:class:`~attention_core.pretrained.common.ForwardCache` (a :class:`~attention_core.cache.ByteLRU`),
both answer ``head_config(result or text, layer, head)``, and both declare the shape of their pinned
files (``CONFIG``), which the pages and links read before a model is loaded. Skipped per model when
it is not installed (CI fails instead, as in test_pretrained.py and test_smollm2.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from attention_core import ValidationError, run_lab
from attention_core.cache import ByteLRU
from attention_core.pretrained import common, minilm, smollm2
from attention_core.serialize import HeadReference, head_from_reference
from tests.test_pretrained import _unavailable

MODELS = {"all-MiniLM-L6-v2": minilm, "SmolLM2-135M": smollm2}
SENTENCE = "When Mary and John went to the store, John gave a drink to"


def _installed(module: object) -> None:
    if not module.is_available():  # type: ignore[attr-defined]
        _unavailable(f"{module.__name__} is not installed ({module.INSTALL_COMMAND})")  # type: ignore[attr-defined]


def test_both_models_cache_in_one_byte_bounded_cache() -> None:
    for module in MODELS.values():
        assert isinstance(module._CACHE, common.ForwardCache) and isinstance(module._CACHE, ByteLRU)
        assert module._CACHE.max_bytes == module.CACHE_BYTES
    calls = []
    cache = common.ForwardCache(1_000)
    first = cache.forward("k", lambda: calls.append(1) or (np.zeros(4), np.ones(2)))
    again = cache.forward("k", lambda: calls.append(1) or (np.zeros(4), np.ones(2)))
    assert again is first and calls == [1] and not first[0].flags.writeable
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0


def test_the_pinned_shapes_are_the_installed_files() -> None:
    """CONFIG is what the loaded model says (the pinned load refuses anything else)."""
    _installed(minilm)
    _installed(smollm2)
    assert minilm.load_default().bert.config == minilm.CONFIG
    assert smollm2.load_default().config == smollm2.CONFIG
    assert (minilm.CONFIG.n_layers, minilm.CONFIG.n_heads) == (6, 12)
    assert (smollm2.CONFIG.n_layers, smollm2.CONFIG.n_heads, smollm2.CONFIG.group) == (30, 9, 3)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_head_config_has_one_shape(name: str) -> None:
    """``head_config(result, layer, head)`` and ``head_config(text, layer, head)`` give the same
    configuration for either model, and it recomputes the head (SmolLM2: its RoPE'd weights)."""
    module = MODELS[name]
    _installed(module)
    result = module.run(SENTENCE)
    layer, head = 3, 7
    cfg = module.head_config(result, layer, head)
    assert cfg == module.head_config(SENTENCE, layer, head)
    assert cfg == head_from_reference(HeadReference(name, SENTENCE, layer, head))
    weights = run_lab(cfg).attention.heads[0].weights
    np.testing.assert_allclose(weights, result.attentions[layer, head], rtol=0, atol=1e-5)
    with pytest.raises(ValidationError):
        module.head_config(result, module.CONFIG.n_layers, 0)
    with pytest.raises(
        ValidationError,
        match=f"has layers 0-{module.CONFIG.n_layers - 1} and heads 0-{module.CONFIG.n_heads - 1}",
    ):
        head_from_reference(HeadReference(name, SENTENCE, 0, module.CONFIG.n_heads))


def test_minilm_keeps_the_older_four_argument_form() -> None:
    _installed(minilm)
    from attention_core import pretrained

    result = pretrained.run(SENTENCE)
    assert pretrained.head_config(result, SENTENCE, 2, 5) == pretrained.head_config(result, 2, 5)
    with pytest.raises(ValidationError, match="not the one"):
        pretrained.head_config(result, "another sentence", 2, 5)
    with pytest.raises(TypeError):
        pretrained.head_config(result, 2, 5, 1)
