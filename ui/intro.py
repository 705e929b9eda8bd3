"""One sentence under each page's title for a newcomer: what the page shows and what to try.

One place for all of them, so the pages say it in one voice; each goes through
:func:`ui.text.literal` (``W_Q`` would otherwise turn italic in Markdown).
"""

from __future__ import annotations

import streamlit as st

from ui.text import literal

INTROS: dict[str, str] = {
    "playground": (  # one line at 1920 px: the lab below still fits the screen
        "Each row of the heatmap shows how much one word attends to every word: type a sentence, pick a cell "
        "of W_Q and drag its slider to watch the weights move, or click a weight to see its arithmetic."
    ),
    "walkthrough": (
        "This page replays a published tutorial step by step with its own seed, so every matrix below is the "
        "one it printed: compare the numbers at the bottom, or open the configuration in the Playground "
        "to change it."
    ),
    "fast_attention": (
        "Press Next to walk the tiles one at a time and watch the running maximum m and sum ℓ of each row "
        "reach the exact weights without the whole score matrix ever being written down."
    ),
    "real_model": (
        "Choose a layer and a head to see which words each word attends to in a trained model, then open "
        "that head in the Playground to edit its matrices."
    ),
    "language_model": (
        "Type a prompt to see the model's next-word guesses, then knock out or rescale heads (or press "
        "'Mary and John') to see which heads a prediction depends on."
    ),
}


def intro(page: str) -> None:
    """The newcomer's sentence of ``page`` (a key of :data:`INTROS`), under its title."""
    st.caption(literal(INTROS[page]))


def titled(title: str, page: str) -> None:
    """A page's title with its newcomer's sentence right under it, kept together in one container
    (Streamlit pulls the element after a title up by a gap's height)."""
    with st.container():
        st.title(title)
        intro(page)
