"""Playground: type a sentence, edit a matrix, and watch the attention weights move beside it."""

from __future__ import annotations

import streamlit as st

from attention_core import LabConfig, LabTrace, ValidationError
from ui import controls, presentation, room, shared, state, views
from ui.intro import titled

state.ensure_defaults()
state.load_url_once()
if state.room.role() == "follower":  # a student following a lecture: the lecturer's screen, live
    room.follow_view()
    st.stop()
state.consume_pending()
present = bool(st.session_state["present"])
st.html(views.COMPACT)  # our own constant style: less padding, so edit and effect share one screen
room_panel = st.sidebar.container()  # first in the sidebar: a lecturer reaches the room without scrolling
messages = controls.sidebar(present)
if not present:
    titled("Attention Playground", "playground")
if state.room.role() == "explorer":
    room.explorer_banner()
if st.session_state["given"] and not present:
    controls.real_head_banner()
controls.link_messages()
if not present:
    controls.page_sentence()  # shown on a phone only (views.COMPACT): there the sidebar is collapsed

# The configuration the widgets describe (before hand edits), or the last good one.
found = controls.base_trace(messages)
if found is None:
    st.stop()
base_trace, cfg0, frozen = found
if not frozen:
    state.reconcile_edits(base_trace.base)  # edits on a regenerated matrix are set aside, never lost
room.sidebar_panel(
    base_trace, room_panel
)  # teach this as a room; a lecturer's join link, followers and questions
if present:
    trace = base_trace if frozen else shared.cached_run_lab(cfg0.with_edits(st.session_state["edits"]))
    state.write_url(trace.config)
    lecturer = state.room.role() == "lecturer"
    presentation.render(
        trace,
        join=(lambda: room.join_panel(big=True)) if lecturer else None,
        teach=None if lecturer else room.teach_button,
    )
    room.publish(trace)
    st.stop()
controls.stash_notice(base_trace)


# Everything below depends on the hand edits only: an edit reruns this fragment, not the sidebar.
@st.fragment
def lab(cfg0: LabConfig, base_trace: LabTrace, frozen: bool) -> None:
    edit, view = st.columns([5, 6])
    with edit:  # the edit …
        name = controls.matrix_choice(base_trace)
        controls.matrix_grid(name, controls.MATRIX_TITLES[name], base_trace)
        # A chosen weight's arithmetic goes here, under the grid and beside the heatmap: both stay on the
        # screen (its height is the room left there, views.COMPACT).
        explained = st.container(key="weight_arithmetic")
        draw_slider = controls.nudge(name, controls.MATRIX_TITLES[name], base_trace)
        controls.edit_buttons()
        controls.edit_refused()
    try:
        trace = base_trace if frozen else shared.cached_run_lab(cfg0.with_edits(st.session_state["edits"]))
    except ValidationError as exc:  # an edit overflowed float64: the message names the matrix and cell
        state.refuse_last_edit(str(exc))
        st.rerun()
    if not frozen:
        state.remember_good(trace)
    with view:  # … and its effect, side by side
        head, layout = views.head_choice(trace)  # the heads' strip above the weights when it fits, …
        views.weights_view(trace, cfg0, head, layout.weights)
        if not layout.strip_above:  # … else under them
            views.heads_strip(trace, layout)
        views.second_view(trace, head)
    with edit:  # its row and column selectors (the keyboard's route) stay at the end of the edit column
        views.explain_view(trace, head, explained)
    views.image_note(trace)
    views.every_step(trace, head)  # every other step, the word-order demo and the exports: one tab each
    if not frozen:  # after the views: the link holds the view too (head, "also show", clicked weight, tab)
        state.write_url(trace.config)
    draw_slider()  # last: when the browser sees it redrawn, every heatmap above has its new numbers
    room.publish(trace, head=head)  # a lecturer's room follows every edit (after this page is drawn: the
    # followers' reruns then do not compete with the lecturer's own)


try:
    lab(cfg0, base_trace, frozen)
finally:  # this run's globals and `lab` refer to each other, a cycle only a full collection frees (the server
    del found, base_trace  # runs none after each run): without its trace, the cycle holds a few kilobytes
