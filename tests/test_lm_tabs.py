"""AppTest of the Language model page's tabs (issue 25) and of its link (issue 27, defects 1 and 6).

Each tab: no exception element, the numbers on screen equal attention_core.pretrained.smollm2's,
hostile inputs answered with a message beside the field; the tab, its fields and the chosen
head or cell are in the link and come back from it. Skipped without the model package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attention_core.pretrained import smollm2
from tests.plotly_json import decode, fig
from tests.test_language_model_page import bars, open_page
from tests.test_real_model_page import _unavailable, assert_clean
from ui import language_model as lm

ROOT = Path(__file__).resolve().parent.parent
CLEAN = smollm2.EXAMPLE_PROMPT
CORRUPTED = lm.CORRUPTED_EXAMPLE


@pytest.fixture
def main_script() -> Path:
    return ROOT / "app.py"


@pytest.fixture
def model() -> None:
    if not smollm2.is_available():
        _unavailable(f"SmolLM2 is not installed: {smollm2.INSTALL_COMMAND}")


def param(at: AppTest, key: str) -> str | None:
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def errors(at: AppTest) -> list[str]:
    """Error messages as read (the page escapes them for Markdown: drop the backslashes)."""
    return [e.value.replace("\\", "") for e in at.error]


def warned(at: AppTest, text: str) -> bool:
    return any(text in w.value.replace("\\", "") for w in at.warning)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def go(at: AppTest, tab: str) -> AppTest:
    at.radio(key=lm.TAB).set_value(tab).run()
    assert_clean(at)
    assert param(at, "lm_tab") == lm.TAB_SLUGS[tab]
    return at


# ---------------------------------------------------------------------------- issue 27: the link
@pytest.mark.parametrize(
    "bad", ["²3.1", "1.²", "①.1", "١.٢", "１.２", "1.2.3", "+-1.2", "30.0", "1.9", "-1.2"]
)
def test_ablate_link_takes_ascii_digits_only(main_script: Path, model: None, bad: str) -> None:
    at = open_page(main_script, lm_ablate=f"{bad},23.3")
    assert_clean(at)
    assert at.multiselect(key=lm.ABLATE).value == ["L23 H3"]
    assert warned(at, "ignored in 'lm_ablate'")


def test_parse_ablate_param_never_raises_on_any_digit() -> None:
    import unicodedata

    digits = [
        chr(c)
        for c in range(0x80, 0x110000)
        if unicodedata.category(chr(c)) in ("Nd", "No", "Nl") or chr(c).isdigit()
    ]  # every non-ASCII digit
    for d in digits:
        heads, bad = lm.parse_ablate_param(f"{d}.1,1.{d},{d}{d}.{d}")
        assert heads == [] and bad, d
    assert lm.parse_ablate_param("23.3, 1.5,23.3") == ([(1, 5), (23, 3)], [])


def test_a_rescaled_head_is_in_the_link_and_comes_back(main_script: Path, model: None) -> None:
    at = open_page(main_script)
    at.selectbox(key=lm.LAYER).set_value(23).run()
    at.selectbox(key=lm.HEAD).set_value(3).run()
    at.number_input(key="lm_factor_23_3").set_value(0.5).run()
    at.button(key="lm_set_factor").click().run()
    assert_clean(at)
    assert param(at, "lm_scale") == "23.3:0.5"
    again = open_page(main_script, lm_scale="23.3:0.5,1.²:2,4.4:1e999")
    assert_clean(again)
    _, p = bars(again, "changed heads: L23 H3 × 0.5")
    same = smollm2.run(CLEAN, head_scale={(23, 3): 0.5})
    np.testing.assert_allclose(p, [q for _, _, q in smollm2.top_k(same, 10)], rtol=1e-12)
    assert warned(again, "ignored in 'lm_scale'")


def test_reset_heads_forgets_the_factor(main_script: Path, model: None) -> None:
    at = open_page(main_script)
    at.selectbox(key=lm.LAYER).set_value(23).run()
    at.selectbox(key=lm.HEAD).set_value(3).run()
    at.number_input(key="lm_factor_23_3").set_value(0.5).run()
    at.button(key="lm_set_factor").click().run()
    at.button(key="lm_reset").click().run()
    assert_clean(at)
    assert at.number_input(key="lm_factor_23_3").value == 1.0
    at.button(key="lm_set_factor").click().run()  # setting the box again changes nothing now
    assert at.session_state[lm.SCALES] == {} and param(at, "lm_scale") is None
    assert not [f for f in at.get("plotly_chart") if "changed heads" in f.proto.spec]


# ---------------------------------------------------------------------------- Predict
def test_predict_numbers_and_link(main_script: Path, model: None) -> None:
    at = go(open_page(main_script, lm_prompt="Once upon a time, there was a"), "Predict")
    at.text_input(key="lm_temp").set_value("0.7").run()
    at.text_input(key="lm_topk").set_value("50").run()
    at.text_input(key="lm_topp").set_value("0.9").run()
    assert_clean(at)
    r = smollm2.run("Once upon a time, there was a")
    dist = smollm2.next_token_distribution(r, temperature=0.7, top_k=50, top_p=0.9)
    _, p = bars(at, "after T=0.7, top-k=50, top-p=0.9")
    np.testing.assert_allclose(p, np.sort(dist)[::-1][: len(p)], rtol=1e-12)
    before = fig(at, "the model's top 10 (grey: cut off)")["data"][0]
    kept = int((dist > 0).sum())
    assert before["marker"]["color"].count("#c7c7c7") == max(0, 10 - kept)
    assert (param(at, "lm_temp"), param(at, "lm_topk"), param(at, "lm_topp")) == ("0.7", "50", "0.9")
    again = open_page(
        main_script,
        lm_prompt="Once upon a time, there was a",
        lm_tab="predict",
        lm_temp="0.7",
        lm_topk="50",
        lm_topp="0.9",
    )
    assert_clean(again)
    _, p2 = bars(again, "after T=0.7, top-k=50, top-p=0.9")
    np.testing.assert_array_equal(p, p2)
    again.text_input(key="lm_seed").set_value("3").run()
    again.text_input(key="lm_steps").set_value("4").run()
    again.button(key="lm_sample").click().run()
    assert_clean(again)
    ids = smollm2.sample(r.ids, 4, temperature=0.7, top_k=50, top_p=0.9, seed=3)
    assert any(
        t.value.endswith(r.model.tokenizer.decode(ids[len(r) :])) for t in again.text if "Sampled" in t.value
    )
    again.button(key="lm_greedy").click().run()
    greedy = smollm2.continue_greedy(r.ids, 4)
    assert any(t.value == "Greedy: " + r.model.tokenizer.decode(greedy[len(r) :]) for t in again.text)


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("lm_temp", "0", "greedy"),
        ("lm_temp", "-1", "Temperature"),
        ("lm_temp", "abc", "Temperature"),
        ("lm_temp", "1e999", "Temperature"),
        ("lm_topp", "0", "only the most likely"),
        ("lm_topp", "1.5", "Top-p"),
        ("lm_topk", "99999999", "every token"),
        ("lm_topk", "2.5", "whole"),
        ("lm_topk", "-3", "Top-k"),
        ("lm_seed", "²", "Seed"),
        ("lm_steps", "0", "Tokens to add"),
    ],
)
def test_predict_hostile_fields_get_a_message_beside_them(
    main_script: Path, model: None, key: str, value: str, said: str
) -> None:
    at = go(open_page(main_script), "Predict")
    at.text_input(key=key).set_value(value).run()
    no_exception(at)
    shown = errors(at) + [i.value.replace("\\", "") for i in at.info]
    assert any(said in m for m in shown), shown
    if key == "lm_temp" and value == "0":
        _, p = bars(at, "after T=0, top-k=0, top-p=1")
        assert p[0] == 1.0


# ---------------------------------------------------------------------------- Logit lens
def test_logit_lens_grid_equals_the_core_and_a_click_opens_a_cell(main_script: Path, model: None) -> None:
    at = go(open_page(main_script), "Logit lens")
    r = smollm2.run(CLEAN)
    spec = fig(at, "logit lens")
    z = decode(spec["data"][0]["z"])
    positions = list(range(max(0, len(r) - 16), len(r)))
    grid = smollm2.logit_lens_grid(r, k=5, positions=positions)
    np.testing.assert_allclose(z, grid.probs[:, :, 0], atol=1e-6)
    lens = smollm2.logit_lens(r)
    np.testing.assert_allclose(z[:, -1], np.exp(lens.max(axis=-1)), atol=1e-5)
    point = {"curve_number": 1, "point_index": 20 * len(positions) + 3}
    at.session_state["lm_lens_0"] = {"selection": {"points": [point]}}
    at.run()
    assert_clean(at)
    assert param(at, "lm_cell") == f"20.{positions[3]}"
    _, p = bars(at, f"after layer 20, position {positions[3]}: top 10")
    np.testing.assert_allclose(
        p, np.sort(np.exp(smollm2.logit_lens(r, positions[3])[20]))[::-1][:10], atol=1e-5
    )
    back = open_page(main_script, lm_tab="lens", lm_cell=f"20.{positions[3]}")
    assert_clean(back)
    bars(back, f"after layer 20, position {positions[3]}: top 10")
    bad = open_page(main_script, lm_tab="lens", lm_cell="²0.1")
    assert_clean(bad)
    assert warned(bad, "ignored 'lm_cell'")


# ---------------------------------------------------------------------------- Head roles
def test_find_the_induction_heads_in_one_click(main_script: Path, model: None) -> None:
    at = go(open_page(main_script), "Head roles")
    at.button(key="lm_find").click().run()
    assert_clean(at)
    assert param(at, "lm_roles") == "1"
    ids = lm.repeated_sequence(0)
    r = smollm2.run_ids(ids)
    scores = smollm2.head_scores(r)
    np.testing.assert_allclose(decode(fig(at, "induction")["data"][0]["z"]), scores["induction"], atol=1e-12)
    best = divmod(int(np.nanargmax(scores["induction"])), 9)
    stripe = fig(at, f"L{best[0]} H{best[1]}: the induction stripe")
    np.testing.assert_allclose(decode(stripe["data"][0]["z"]), r.attentions[best], atol=1e-7)
    loss = fig(at, "loss on each next token")
    np.testing.assert_allclose(decode(loss["data"][0]["y"]), smollm2.token_losses(r), atol=1e-12)
    top = [divmod(int(i), 9) for i in np.argsort(-scores["induction"], axis=None, kind="stable")[:8]]
    knocked = decode(loss["data"][1]["y"])
    np.testing.assert_allclose(knocked, smollm2.token_losses(smollm2.run_ids(ids, ablate=top)), atol=1e-12)
    assert knocked[20:].mean() > smollm2.token_losses(r)[20:].mean() + 2  # in-context learning breaks
    for key, value in (("lm_rk", "0"), ("lm_rk", "x"), ("lm_rseed", "-1"), ("lm_rseed", "١")):
        at.text_input(key=key).set_value(value).run()
        no_exception(at)
        assert errors(at)
        at.text_input(key=key).set_value({"lm_rk": "8", "lm_rseed": "0"}[key]).run()


def test_head_roles_on_the_prompt(main_script: Path, model: None) -> None:
    at = go(open_page(main_script), "Head roles")
    r = smollm2.run(CLEAN)
    np.testing.assert_allclose(
        decode(fig(at, "previous token")["data"][0]["z"]),
        smollm2.head_scores(r)["previous_token"],
        atol=1e-12,
    )


# ---------------------------------------------------------------------------- Patching
def test_patching_tab_equals_the_core_and_a_click_chooses_a_head(main_script: Path, model: None) -> None:
    at = go(open_page(main_script), "Patching")
    result = smollm2.patch_heads(CLEAN, CORRUPTED, " Mary", " John")
    spec = fig(at, "recovered")
    np.testing.assert_allclose(decode(spec["data"][0]["z"]), result.recovered.T, atol=1e-9)
    point = {"curve_number": 1, "point_index": 3 * 30 + 23}  # click layer: row (head) · 30 + column (layer)
    at.session_state["lm_patch_0"] = {"selection": {"points": [point]}}
    at.run()
    assert_clean(at)
    assert (at.selectbox(key=lm.PATCH_LAYER).value, at.selectbox(key=lm.PATCH_HEAD).value) == (23, 3)
    at.toggle(key="lm_patch_knock").set_value(True).run()
    assert_clean(at)
    assert any("L23 H3 knocked out" in t.value for t in at.text)
    at.selectbox(key=lm.PATCH_LAYER).set_value(1).run()
    at.selectbox(key=lm.PATCH_HEAD).set_value(5).run()
    assert (param(at, "lm_pl"), param(at, "lm_ph")) == ("1", "5")
    r = smollm2.run(CLEAN)
    np.testing.assert_allclose(
        decode(fig(at, "L1 H5 on the clean prompt")["data"][0]["z"]), r.attentions[1, 5], atol=1e-7
    )


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("lm_corrupt", "When Mary went to the store", "same number"),
        ("lm_answer", " Mary Ann", "one token"),
        ("lm_wrong", "", "non-empty"),
        ("lm_clean", "", "no tokens"),
        ("lm_answer", "<b>x</b> y", "one token"),
    ],
)
def test_patching_hostile_inputs(main_script: Path, model: None, key: str, value: str, said: str) -> None:
    at = go(open_page(main_script), "Patching")
    at.text_input(key=key).set_value(value).run()
    no_exception(at)
    assert any(said in m for m in errors(at)), errors(at)
    assert not [f for f in at.get("plotly_chart") if "recovered" in f.proto.spec]


def test_patching_link_comes_back(main_script: Path, model: None) -> None:
    clean, corrupt = (
        "Alice and Bob sat down. Bob handed the book to",
        "Alice and Bob sat down. Alice handed the book to",
    )
    at = open_page(
        main_script,
        lm_tab="patch",
        lm_clean=clean,
        lm_corrupt=corrupt,
        lm_answer=" Alice",
        lm_wrong=" Bob",
        lm_pl="9",
        lm_ph="²",
    )
    assert_clean(at)
    result = smollm2.patch_heads(clean, corrupt, " Alice", " Bob")
    np.testing.assert_allclose(decode(fig(at, "recovered")["data"][0]["z"]), result.recovered.T, atol=1e-9)
    assert at.selectbox(key=lm.PATCH_LAYER).value == 9
    assert warned(at, "ignored 'lm_ph'")
    assert param(at, "lm_clean") == clean and param(at, "lm_answer") == " Alice"
