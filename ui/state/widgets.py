"""Widget callbacks and the small choices of the Playground's views: the seed and scale widgets, the
presentation stage, the clicked weight, the head shown, the word-order shuffle, step counters."""

from __future__ import annotations

import numpy as np
import streamlit as st

from attention_core import LabConfig, ValidationError
from attention_core.settings import parse, settings_of

# ----------------------------------------------------------------------------- widget callbacks
SEED_SLIDER_MAX = 1000
#: The exact-seed box reads a seed as a link does (the setting's own parse and range); the random source
#: then refuses, as its tool does, what is outside its own range (attention_core.rng.make_generator).
SEED = settings_of(LabConfig)["seed"]


def replace_setting(name: str, value: object) -> None:
    """Put a setting back inside its widget's options (before the widget is drawn), e.g. a
    number of heads that no longer divides d_k."""
    st.session_state[name] = value


def on_seed_slider() -> None:
    st.session_state["seed"] = int(st.session_state["seed_slider"])
    st.session_state["seed_exact"] = str(st.session_state["seed"])
    st.session_state.pop("seed_error", None)


def on_seed_exact() -> None:
    text = str(st.session_state["seed_exact"]).strip()
    try:
        seed = int(parse("seed", SEED, text, from_text=True))
    except ValidationError:
        st.session_state["seed_error"] = (
            f"'{text[:40]}' is not a whole number from {int(SEED.lo)} to {int(SEED.hi)}; "
            f"the seed stays {st.session_state['seed']}."
        )
        return
    st.session_state.pop("seed_error", None)
    st.session_state["seed"] = seed
    if 0 <= seed <= SEED_SLIDER_MAX:
        st.session_state["seed_slider"] = seed


def on_scale_slider() -> None:
    st.session_state["scale_mode"] = "custom"
    st.session_state["scale_value"] = float(st.session_state["scale_custom"])


def clamp_stage(n_stages: int) -> int:
    """The presentation stage in force, inside 0 … n_stages − 1 (a link may ask for any)."""
    stage = max(0, min(n_stages - 1, int(st.session_state.get("stage", 0))))
    st.session_state["stage"] = stage
    return stage


def go_stage(delta: int, n_stages: int) -> None:
    st.session_state["stage"] = max(0, min(n_stages - 1, int(st.session_state.get("stage", 0)) + delta))


def mirror_sentence(key: str = "present_sentence") -> None:
    """A second sentence box (presentation mode's, the phone's on the page) starts from the sentence
    in force; the sidebar's box holds it under ``sentence``."""
    st.session_state[key] = st.session_state["sentence"]


def on_present_sentence(key: str = "present_sentence") -> None:
    """A second sentence box was changed: it is the sentence now."""
    st.session_state["sentence"] = st.session_state[key]


def exit_presentation() -> None:
    st.session_state["present"] = False


def select_weight(cell: tuple[int, int] | None) -> None:
    """The weight whose arithmetic is shown (None: none); it stays until another is chosen."""
    st.session_state["explained"] = cell


def shuffle_words(n: int) -> None:
    """A new seeded shuffle of n positions (the k-th press always gives the same one)."""
    count = int(st.session_state.get("shuffle_count", 0)) + 1
    st.session_state["shuffle_count"] = count
    st.session_state["shuffle_perm"] = np.random.default_rng(count).permutation(n).tolist()


def current_shuffle(n: int) -> list[int] | None:
    """The shuffle in force, if it still fits a sentence of n tokens."""
    perm = st.session_state.get("shuffle_perm")
    return perm if perm is not None and len(perm) == n else None


def focus_head(head: int, n_heads: int) -> None:
    """Show head ``head`` (a click on its tile among all heads)."""
    if 0 <= head < n_heads:
        st.session_state["head_shown"] = head


def keep_choice(key: str, options: list[str], default: str) -> None:
    """Before a choice widget is drawn: its value must be one of ``options`` (the matrices change)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def keep_in_range(key: str, most: int) -> None:
    """Before a widget or view reads ``key``: a step counter stays within 0 … most."""
    if st.session_state.get(key, 0) > most:
        st.session_state[key] = most


def move_step(key: str, delta: int, most: int) -> None:
    """A previous/next button: move the step counter ``key`` by ``delta`` within 0 … most."""
    st.session_state[key] = max(0, min(most, int(st.session_state.get(key, 0)) + delta))
