"""What a page shows of its numbers (not the numbers themselves): one declaration per view setting.

A link restores the view as well as the state: which matrix is being edited, which head is shown,
what is shown under the weights, which weight's arithmetic is open, which tab or step of a page is
open. Each is declared here once, as a :func:`~attention_core.settings.setting` of a small frozen
dataclass per page, exactly like :class:`~attention_core.lab.LabConfig`'s settings: its field name is
the session key and the widget key, its ``key`` the short link key, its kind and limits the one
parser of what a link brings (:func:`~attention_core.settings.parse`). A view setting a link does not
carry keeps its default, so links made before these existed open as they always did.
"""

from __future__ import annotations

from dataclasses import dataclass

from .lab import EDITABLE, MAX_DIM, MAX_TOKENS
from .settings import Setting, setting, settings_of

#: Steps a person can put under the Playground's weights ("none": nothing).
SECOND_VIEWS: tuple[str, ...] = ("scores", "Q", "K", "V", "output")


@dataclass(frozen=True)
class PlaygroundView:
    """The Playground's view: what is on screen besides the configuration."""

    #: The matrix the grid and the nudge slider edit.
    edit_matrix: str = setting("W_q", "m", "choice", choices=EDITABLE)
    #: The head whose weights are drawn (with several heads).
    head_shown: int = setting(0, "hd", "int", lo=0, hi=MAX_DIM)
    #: The step drawn under the weights ("Also show"); None: nothing.
    second_view: str | None = setting("scores", "also", "choice", choices=SECOND_VIEWS, none="none")
    #: The weight whose arithmetic is shown, (row, column); None: none.
    explained: tuple[int, int] | None = setting(None, "w", "cell", lo=0, hi=MAX_TOKENS, none="none")
    #: The open tab under the weights (its title: "Tokens", a step's title, "Word order", …).
    step_tab: str = setting("Tokens", "tab", "text", max_chars=80)


@dataclass(frozen=True)
class FastAttentionView:
    """The fast-attention page: the example's size and the tile step shown."""

    fa_tokens: int = setting(24, "fa_tokens", "int", lo=16, hi=64)
    fa_block: int = setting(8, "fa_block", "int", lo=4, hi=16, choices=("4", "8", "16"))
    fa_causal: bool = setting(True, "fa_causal", "bool")
    fa_step: int = setting(0, "fa_step", "int", lo=0, hi=10_000)


@dataclass(frozen=True)
class BlogView:
    """The multi-head and cross-attention walkthrough: its open tab."""

    blog_tab: str = setting(
        "Q = K = V = X", "blog_tab", "choice", choices=("Q = K = V = X", "Multi-head", "Cross-attention")
    )


#: {field: Setting} of each page's view.
PLAYGROUND_VIEW: dict[str, Setting] = settings_of(PlaygroundView)
FAST_ATTENTION_VIEW: dict[str, Setting] = settings_of(FastAttentionView)
BLOG_VIEW: dict[str, Setting] = settings_of(BlogView)
#: Every page's view keys in a link (the configuration's reader leaves them to the pages).
VIEW_KEYS: tuple[str, ...] = tuple(
    spec.key for view in (PLAYGROUND_VIEW, FAST_ATTENTION_VIEW, BLOG_VIEW) for spec in view.values()
)
