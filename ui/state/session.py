"""The Playground's configuration in the session: every LabConfig field under its own key (widget key =
session key = field name), loaded all at once from a link, a file or another page, and read back."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import streamlit as st

from attention_core import LabConfig, LabTrace
from attention_core.serialize import HeadReference
from ui.shared import cached_run_lab


def _fields(cfg: LabConfig) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "edits"}


class RealHead(NamedTuple):
    """The real model's head loaded in the Playground, and where it came from."""

    playground_sentence: str  # its WordPiece tokens spelled out for the Playground ("CLS life …")
    sentence: str  # the sentence the model read
    layer: int
    head: int
    model: str = "all-MiniLM-L6-v2"  # which model
    page: str = "Real model"  # the page it came from


def open_real_head(cfg: LabConfig, head: RealHead) -> None:
    """Ask the Playground to load a real model's head (``cfg`` holds its matrices)."""
    st.session_state["pending_config"] = cfg
    st.session_state["real_head"] = head


#: The page each real model's head is opened from.
REAL_HEAD_PAGES = {"all-MiniLM-L6-v2": "Real model", "SmolLM2-135M": "Language model"}


def head_reference(cfg: LabConfig) -> HeadReference | None:
    """Where the real head in ``cfg`` comes from (its link and state file carry this), or None."""
    head = st.session_state.get("real_head")
    if not cfg.given or head is None:
        return None
    return HeadReference(head.model, head.sentence, head.layer, head.head)


def remember_real_head(cfg: LabConfig, ref: HeadReference | None) -> None:
    """A link or state file opened a real model's head: the banner, the next link and file name it."""
    if cfg.given and ref is not None:
        st.session_state["real_head"] = RealHead(
            cfg.sentence,
            ref.sentence,
            ref.layer,
            ref.head,
            ref.model,
            REAL_HEAD_PAGES.get(ref.model, "a model"),
        )


def ensure_defaults() -> None:
    """Give every key a value once per session.

    Widget values outlive a run that does not draw them (presentation mode, another
    page) because every widget is created with ``persist_state="session"``.
    """
    for name, value in _fields(LabConfig()).items():
        st.session_state.setdefault(name, value)
    st.session_state.setdefault("seed_slider", min(LabConfig().seed, 1000))
    st.session_state.setdefault("seed_exact", str(st.session_state["seed"]))
    st.session_state.setdefault("scale_custom", float(st.session_state["scale_value"]))
    st.session_state.setdefault("present", False)
    st.session_state.setdefault("stage", 0)  # the presentation stage (the link calls it "step")
    st.session_state.setdefault("big_type", False)
    st.session_state.setdefault("palette", "default")
    st.session_state.setdefault("image_format", "png")
    st.session_state.setdefault("edit_matrix", "W_q")
    st.session_state.setdefault("explained", None)  # the clicked weight (row, column), in the link as "w"
    st.session_state.setdefault("head_shown", 0)
    st.session_state.setdefault("edits", {})
    st.session_state.setdefault("edit_bases", {})
    st.session_state.setdefault("stash", None)
    st.session_state.setdefault("editor_generation", 0)


def load_config(cfg: LabConfig) -> None:
    """Put ``cfg`` (and its hand edits) into the session; call before widgets are drawn.

    ``cfg`` must be holdable (:func:`attention_core.lab.make_holdable`): every value then fits
    its widget and every edit its matrix. :func:`consume_pending` makes sure of that.
    """
    for name, value in _fields(cfg).items():
        st.session_state[name] = value
    in_range = 0 <= cfg.seed <= 1000
    st.session_state["seed_slider"] = cfg.seed if in_range else st.session_state.get("seed_slider", 0)
    st.session_state["seed_exact"] = str(cfg.seed)
    st.session_state["scale_custom"] = float(cfg.scale_value)
    st.session_state["edits"] = cfg.edit_dict()
    st.session_state["edit_bases"] = {}  # fingerprinted on the first run
    st.session_state["stash"] = None
    st.session_state["editor_generation"] += 1  # editors start afresh from the loaded matrices


def config_without_edits() -> LabConfig:
    """The configuration the widgets describe, before hand edits."""
    return LabConfig(**{name: st.session_state[name] for name in _fields(LabConfig())})


def remember_good(trace: LabTrace) -> None:
    """The last configuration that computed, shown again while a setting is being fixed. Only the
    configuration is kept (bytes), not its trace (up to hundreds of MB): the shared cache has it."""
    st.session_state["last_good_config"] = trace.config


def last_good_trace() -> LabTrace | None:
    cfg = st.session_state.get("last_good_config")
    return None if cfg is None else cached_run_lab(cfg)
