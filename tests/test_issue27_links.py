"""Issue 27: one number parser for every link key. The real-head key ``rh=model:layer:head`` added for
defect 6 reads its layer and head with the settings' parser of whole numbers (ASCII digits only), so
generated digits of every Unicode category ("²", "١", "①", full-width "１"), any length and repeated
separators never crash the app and never load another head than the one written."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attention_core import ValidationError, pretrained
from attention_core.serialize import reference_from_query
from tests.test_hostile import open_link
from tests.test_real_model_page import _unavailable

MODELS = st.sampled_from(["all-MiniLM-L6-v2", "SmolLM2-135M", "", "all-MiniLM-L6-v2:"])
NUMBERS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
    st.sampled_from(["0", "5", "11", "²", "١", "①", "１", "0x1", "1.0", "-1", "+2", " 3", "9" * 30]),
)
RH = st.tuples(MODELS, NUMBERS, NUMBERS, st.integers(0, 2)).map(
    lambda t: ":".join([t[0], t[1], t[2]] + ["1"] * t[3])
)  # extra ":1" parts: repeated separators


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RH)
def test_any_real_head_link_opens_a_lab(rh: str) -> None:
    if not pretrained.is_available():
        _unavailable("all-MiniLM-L6-v2 is not installed")
    params = {"rh": rh, "s": "life is short"}
    at = open_link(params)
    assert not at.exception, (params, [e.value for e in at.exception])
    loaded = at.session_state.get("real_head")
    if loaded is None:
        assert not at.session_state["given"]
        return
    model, layer, head = rh.split(":")  # loaded: exactly the head written, in ASCII digits
    assert (loaded.model, str(loaded.layer), str(loaded.head)) == (
        model,
        layer.strip().lstrip("+"),
        head.strip().lstrip("+"),
    )
    assert layer.strip().lstrip("+").isascii() and head.strip().lstrip("+").isascii()


def test_other_scripts_digits_are_refused_by_the_one_parser() -> None:
    for digits in ("²", "١", "①", "１", "1.0", "0x1"):
        with pytest.raises(ValidationError, match="'rh' layer: must be a whole number"):
            reference_from_query({"rh": f"all-MiniLM-L6-v2:{digits}:0", "s": "a"})
