"""A lecture room on screen: the lecturer's panel, the join link and its QR code, the follow view a
student sees, and questions to the hall. The room itself is :mod:`rooms`; session state is
:mod:`ui.state.room`; the trace a follower sees comes from the shared cache, so a hall of followers
computes each state of the lecturer's lab once.
"""

from __future__ import annotations

import html

import numpy as np
import segno
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from attention_core import LabTrace, ValidationError
from attention_core.serialize import state_to_json
from attention_core.steps import BY_NAME
from rooms import Question, RoomError, StoreUnavailable
from rooms.room import Snapshot
from ui import presentation, shared, state
from ui.figures import FigureSpec, chart_config, heatmap, marked, plotly_text, step_figure
from ui.push import session_id
from ui.state import links
from ui.state import room as room_state
from ui.text import literal
from ui.views import shared_figure

#: A follower's safety net: its page checks the room this often even when nothing was pushed (a change
#: announced while Redis was away, the lecturer going offline). Every follower pays one run per period:
#: at 5 s, 300 followers were 60 runs a second beside the lecturer's own.
FOLLOW_CHECK_SECONDS = 10.0
#: The lecturer's panel refreshes the follower count and the live histogram this often.
LECTURER_CHECK_SECONDS = 2.0
#: Width the follow view's figures are laid out for: a phone (390 px less the page's padding).
PHONE_WIDTH = 340
UNAVAILABLE = "Room unavailable, reconnecting… (the lab itself keeps working)"
QUESTION_KINDS = {
    "attend": "Which word does … attend to most?",
    "estimate": "Estimate a weight",
    "choice": "Multiple choice",
}

FOLLOW_STYLE = """
<style>
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.8rem 0.8rem 1rem 0.8rem !important; max-width: 60rem; }
</style>
"""


def student_link() -> str:
    """The address a student opens: this page with ``?room=CODE`` and nothing else (never the key)."""
    return links.share_link({"room": room_state.code()})


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as SVG (sharp at any size on a projector)."""
    return segno.make(url, error="m").svg_inline(scale=10, border=2, dark="#000", light="#fff")


def join_panel(*, big: bool) -> None:
    """The student link in large type and as a QR code; ``big``: the presentation stage "Join"."""
    url = student_link()
    size = "2.4rem" if big else "1.1rem"
    left, right = st.columns([3, 2] if big else [1, 1], vertical_alignment="center")
    # Our own markup around escaped text: the link is shown as typed, never interpreted.
    left.html(
        f'<div style="font-size:{size};font-weight:700;line-height:1.3;word-break:break-all">'
        f'{html.escape(url)}</div><div style="font-size:{"1.6rem" if big else "0.9rem"}">room code '
        f'<b style="letter-spacing:0.15em">{html.escape(room_state.code())}</b></div>'
    )
    right.image(qr_svg(url), width=380 if big else 160, caption=None)


# ----------------------------------------------------------------------------- the lecturer
def teach_button() -> None:
    """The presentation bar's way into a room (the sidebar is hidden while presenting)."""
    st.button(
        "Teach",
        on_click=room_state.on_teach,
        args=(shared.hall().rooms,),
        key="teach_present",
        help="Turn the lab into a lecture room: students follow your screen live and answer questions.",
    )


def sidebar_panel(trace: LabTrace | None, sb: DeltaGenerator) -> None:
    """In the sidebar (``sb``, a place at its top): "Teach this as a room", or the room's join link,
    followers, and questions."""
    hall = shared.hall()
    problem = room_state.take_room_error()
    if room_state.role() != "lecturer":
        if problem:
            sb.error(literal(problem))
        sb.button(
            "Teach this as a room",
            on_click=room_state.on_teach,
            args=(hall.rooms,),
            key="teach",
            help="Students open a link or scan a QR code and follow your screen live; "
            "you can ask them questions.",
        )
        return
    with sb.expander(f"Lecture room {room_state.code()}", expanded=True):
        if problem:
            st.error(literal(problem))
        join_panel(big=False)
        live_panel()
        if trace is not None:
            question_form(trace)
        try:
            data = hall.rooms.answers_csv(room_state.code(), room_state.key())
            st.download_button(
                "Answers (CSV)",
                data=data,
                file_name=f"room-{room_state.code()}-answers.csv",
                mime="text/csv",
                key="room_csv",
            )
        except (RoomError, StoreUnavailable):
            pass
        st.button(
            "End teaching here",
            on_click=room_state.end_teaching,
            key="room_end",
            help="This page stops publishing; followers see the last state until the room expires.",
        )


@st.fragment(run_every=LECTURER_CHECK_SECONDS)
def live_panel() -> None:
    """Followers and the current question's live histogram, refreshed every few seconds."""
    rooms = shared.hall().rooms
    code, key = room_state.code(), room_state.key()
    try:
        rooms.lecturer_seen(code, key)
        snap = rooms.snapshot(code)
    except StoreUnavailable:
        st.warning(UNAVAILABLE)
        return
    except RoomError as exc:
        st.error(literal(str(exc)))
        return
    if snap is None:
        st.warning("This room has expired.")
        return
    st.caption(f"{snap.followers} following")
    q = snap.question
    if q is None:
        return
    counts = rooms.tally(code, q)
    st.caption(
        f"Question {q.id}, {q.status}: {sum(counts)} answer{'' if sum(counts) == 1 else 's'}"
    )  # no text of anyone's in it
    st.plotly_chart(
        answers_figure(q, counts, reveal=q.status == "revealed"),
        width="stretch",
        key="room_tally",
        config={**chart_config("answers"), "displayModeBar": False},
    )
    c1, c2 = st.columns(2)
    if q.status == "open":
        c1.button("Close", key="room_close", on_click=_status, args=("closed",))
    else:
        c1.button("Reopen", key="room_reopen", on_click=_status, args=("open",))
    c2.button(
        "Reveal", key="room_reveal", on_click=_status, args=("revealed",), disabled=q.status == "revealed"
    )


def _status(status: str) -> None:
    try:
        shared.hall().rooms.set_status(room_state.code(), room_state.key(), status)  # type: ignore[arg-type]
    except (RoomError, StoreUnavailable) as exc:
        room_state.set_room_error(str(exc))


def question_form(trace: LabTrace) -> None:
    """Ask the hall about what is on screen: templates whose true answer the lab gives when Ask is pressed."""
    kind = st.selectbox(
        "Ask the hall", list(QUESTION_KINDS), format_func=QUESTION_KINDS.get, key="room_q_kind"
    )
    n_q, n_k = len(trace.tokens_q.tokens), len(trace.tokens_kv.tokens)
    q_tok, k_tok = trace.tokens_q.tokens, trace.tokens_kv.tokens
    if kind == "attend":
        st.selectbox(
            "query word", range(n_q), format_func=lambda r: f"{r}: {q_tok[r][:20]}", key="room_q_row"
        )
    elif kind == "estimate":
        c1, c2 = st.columns(2)
        c1.selectbox("row", range(n_q), format_func=lambda r: f"{r}: {q_tok[r][:12]}", key="room_q_i")
        c2.selectbox("column", range(n_k), format_func=lambda c: f"{c}: {k_tok[c][:12]}", key="room_q_j")
    else:
        st.text_input("Question", key="room_q_text", max_chars=300)
        lines = st.text_area("Options, one per line (2 to 5)", key="room_q_options", height=110)
        n = len([o for o in (lines or "").splitlines() if o.strip()])
        st.selectbox(
            "The right option",
            [-1, *range(n)],
            key="room_q_right",
            format_func=lambda k: "no right answer" if k < 0 else f"option {k + 1}",
        )
    st.button("Ask", key="room_ask", on_click=_ask, args=(kind,), type="primary")


def _ask(kind: str) -> None:
    """Build the question from the form and the lab's state at this moment (its true answer included)."""
    ss = st.session_state
    try:
        trace = shared.cached_run_lab(state.config_without_edits().with_edits(ss["edits"]))
        head = min(int(ss.get("head_shown", 0) or 0), trace.attention.n_heads - 1)
        w = trace.attention.heads[head].weights  # (n_q, n_k)
        q_tok, k_tok = trace.tokens_q.tokens, trace.tokens_kv.tokens
        if kind == "attend":
            i = min(int(ss.get("room_q_row", 0) or 0), w.shape[0] - 1)
            question = Question(
                "attend",
                f"Which word does '{q_tok[i]}' (word {i}) attend to most?",
                tuple(k_tok),
                float(np.argmax(w[i])),
                where={"head": head, "row": i},
            )
        elif kind == "estimate":
            i, j = (
                min(int(ss.get("room_q_i", 0) or 0), w.shape[0] - 1),
                min(int(ss.get("room_q_j", 0) or 0), w.shape[1] - 1),
            )
            question = Question(
                "estimate",
                f"Estimate weight ({i}, {j}): how much does '{q_tok[i]}' attend to '{k_tok[j]}'?",
                truth=float(w[i, j]),
                where={"head": head, "row": i, "col": j},
            )
        else:
            options = tuple(o.strip() for o in str(ss.get("room_q_options") or "").splitlines() if o.strip())
            right = int(ss.get("room_q_right") if ss.get("room_q_right") is not None else -1)
            question = Question(
                "choice",
                str(ss.get("room_q_text") or ""),
                options,
                float(right) if 0 <= right < len(options) else None,
            )
        shared.hall().rooms.ask(room_state.code(), room_state.key(), question)
    except (RoomError, StoreUnavailable, ValidationError) as exc:
        room_state.set_room_error(str(exc))


def publish(trace: LabTrace, *, head: int = 0) -> None:
    """Put what the lecturer's screen shows in the room (only when it changed)."""
    if room_state.role() != "lecturer":
        return
    all_stages = presentation.stages(trace, join=True)
    stage = max(0, min(len(all_stages) - 1, int(st.session_state.get("stage", 0))))
    present = bool(st.session_state.get("present"))
    try:
        state = state_to_json(
            trace.config,
            present=present,
            stage=stage,
            stages=len(all_stages),
            stage_title=all_stages[stage][0],
            head=int(head),
            matrix=str(st.session_state.get("edit_matrix", "W_q")),
            explained=list(st.session_state.get("explained") or []) or None,
        )
    except ValidationError as exc:  # a real model's head: its matrices are not shared
        st.caption(
            literal(f"Not shared with the room: {exc}")
        )  # (in place: a fragment cannot draw in the sidebar)
        return
    if not room_state.mark_published(state):
        return
    hall = shared.hall()
    hall.followers.published_by(session_id())  # this process's followers wait for this run to end
    try:
        hall.rooms.publish(room_state.code(), room_state.key(), state)
    except StoreUnavailable:  # the room panel says so; send it again on the next run
        room_state.mark_published("")
    except RoomError as exc:
        st.caption(literal(f"Not shared with the room: {exc}"))


# ----------------------------------------------------------------------------- a student
def explorer_banner() -> None:
    """A student exploring on their own: the way back to the lecture."""
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.caption(
        f"Exploring on your own; room {room_state.code()} goes on without you. Nothing you do here "
        "changes the room."
    )
    c2.button("Back to the lecture", key="room_back", on_click=room_state.back_to_lecture, type="primary")


def follow_view() -> None:
    """The lecturer's screen, live: lean (about a dozen elements), no sidebar, phone-sized figures."""
    st.html(FOLLOW_STYLE)
    hall = shared.hall()
    code = room_state.code()
    links.write_room_url(room_state.link_params())
    sid = session_id()
    if sid is not None:
        hall.followers.follow(code, sid)
    try:
        hall.rooms.follower_seen(code, room_state.student())
        snap = room_state.keep_snapshot(hall.rooms.snapshot(code))
        reachable = True
        room_state.checked()
    except StoreUnavailable:  # keep showing the last state this student saw, and say why it stands still
        st.warning(UNAVAILABLE)
        snap, reachable = room_state.last_snapshot(), False
        if snap is None:
            follow_check(None, True)
            return
    if snap is None:
        st.error(literal(f"Room {code} has ended or never existed."))
        st.button("Open the lab on my own", on_click=room_state.leave_room, key="room_leave")
        return
    if snap.state is None:
        st.caption(literal(f"following {code} · waiting for the lecturer"))
        follow_check(snap.version, snap.lecturer_online)
        return
    cfg, screen = shared.room_screen(snap.state)
    where = (
        f"stage {int(screen.get('stage', 0)) + 1} of {int(screen.get('stages', 1))}"
        if screen.get("present")
        else "Playground"
    )
    st.caption(literal(f"following {code} · {where}"))
    if not snap.lecturer_online and reachable:
        st.warning("The lecturer is offline: this is the last thing they showed.")
    try:
        trace = shared.cached_run_lab(cfg)
    except ValidationError as exc:
        st.error(literal(f"The lecturer's state cannot be computed here: {exc}"))
        follow_check(snap.version, snap.lecturer_online)
        return
    st.text(" ".join(trace.tokens_q.tokens))
    if screen.get("present") and screen.get("stage_title") not in (None, "Join"):
        _stage(trace, screen)
    else:
        _playground(trace, screen)
    if snap.question is not None and reachable:
        question_view(snap, trace)
    st.button(
        "Explore this myself",
        key="room_explore",
        on_click=room_state.explore,
        args=(snap.state,),
        help="The full lab with exactly the lecturer's state, in your session alone.",
    )
    follow_check(snap.version if reachable else None, snap.lecturer_online)


def _playground(trace: LabTrace, screen: dict) -> None:
    """The weights the lecturer looks at (the clicked weight outlined), and the matrix being edited."""
    head = min(max(0, int(screen.get("head", 0))), trace.attention.n_heads - 1)
    cell = screen.get("explained")
    n_q, n_k = trace.attention.heads[head].weights.shape
    cell = (
        tuple(cell) if isinstance(cell, list) and len(cell) == 2 and cell[0] < n_q and cell[1] < n_k else None
    )

    def weights() -> FigureSpec:
        fig = step_figure(trace, BY_NAME["weights"], head, height=360, text_width=PHONE_WIDTH)
        return marked(fig, *cell) if cell else fig

    st.plotly_chart(
        shared_figure(trace, ("follow", "weights", head, cell), weights),
        width="stretch",
        key="follow_weights",
        config=chart_config("weights"),
    )
    name = str(screen.get("matrix", "W_q"))
    matrix = trace.biases.get(name) if name.startswith("b_") else getattr(trace, name, None)
    if isinstance(matrix, np.ndarray) and matrix.size <= 64 * 64:
        edited = [(r, c) for m, r, c, _ in trace.config.edits if m == name]

        def matrix_figure() -> FigureSpec:
            rows = (
                list(trace.tokens_q.tokens)
                if name == "embeddings"
                else [str(i) for i in range(matrix.shape[0])]
            )
            fig = heatmap(
                matrix,
                title=f"{name} (edited cells outlined)",
                row_labels=rows,
                col_labels=[str(j) for j in range(matrix.shape[1])],
                kind="values",
                row_title="row",
                col_title="column",
                height=300,
                text_width=PHONE_WIDTH,
            )
            for r, c in edited[:16]:
                fig = marked(fig, r, c)
            return fig

        st.plotly_chart(
            shared_figure(trace, ("follow", "matrix", name, tuple(edited)), matrix_figure),
            width="stretch",
            key="follow_matrix",
            config=chart_config(name),
        )


def _stage(trace: LabTrace, screen: dict) -> None:
    """The presentation stage the lecturer shows, laid out for a phone."""
    all_stages = presentation.stages(trace, join=True)
    stage = min(max(0, int(screen.get("stage", 0))), len(all_stages) - 1)
    title, steps = all_stages[stage]
    st.subheader(title, anchor=False)

    def figures() -> dict[str, FigureSpec]:
        return dict(
            presentation.stage_figures(
                trace, title, steps, number_size=14, width=PHONE_WIDTH, height=360, palette="default"
            )
        )

    names = [s.name for s in steps] or (["tokens"] if title == "Tokens" else ["heads"])
    for key in names:  # each built once per server for every follower (the shared figure cache)
        st.plotly_chart(
            shared_figure(trace, ("follow", "stage", stage, key), lambda k=key: figures()[k]),
            width="stretch",
            key=f"follow_{key}",
            config=chart_config(key),
        )


def question_view(snap: Snapshot, trace: LabTrace) -> None:
    """The current question: answer it (until it closes), and after the reveal the class beside the lab."""
    q = snap.question
    assert q is not None
    rooms = shared.hall().rooms
    st.subheader("Question", anchor=False)
    st.text(q.text)
    if q.status == "revealed":
        try:
            counts = rooms.tally(snap.code, q)
        except StoreUnavailable:
            st.warning(UNAVAILABLE)
            return
        st.plotly_chart(
            answers_figure(q, counts, reveal=True),
            width="stretch",
            key="follow_tally",
            config={**chart_config("answers"), "displayModeBar": False},
        )
        return
    mine = rooms.my_answer(snap.code, room_state.student(), q.id)
    key = room_state.answer_key(q.id)
    if q.kind == "estimate":
        room_state.reset_answer(q.id, 0.5 if mine is None else mine)
        st.slider("Your estimate", 0.0, 1.0, step=0.01, key=key, disabled=q.status != "open")
    else:
        room_state.reset_answer(q.id, None if mine is None else int(mine))
        st.radio(
            "Your answer",
            range(len(q.options)),
            key=key,
            disabled=q.status != "open",
            format_func=lambda k: literal(q.options[k]),
            index=None,
        )
    st.button(
        "Send my answer" if mine is None else "Change my answer",
        key="room_send",
        type="primary",
        on_click=room_state.send_answer,
        args=(rooms, q.id),
        disabled=q.status != "open",
    )
    said = room_state.take_answer_message()
    st.caption(
        literal(said)
        if said
        else "Answers are anonymous."
        if mine is None
        else f"Your answer is in{'' if q.status == 'open' else '; the question is closed'}."
    )


def answers_figure(q: Question, counts: list[int], *, reveal: bool) -> FigureSpec:
    """The class's answers as bars; with ``reveal`` the lab's true answer is marked."""
    bins = [plotly_text(b[:24]) for b in q.bins()]
    colors = ["#1f77b4"] * len(bins)
    truth = None if q.truth is None else q.bin_of(q.truth)
    if reveal and truth is not None:
        colors[truth] = "#d62728"
    title = (
        "Answers"
        if not reveal
        else (
            "Answers; the lab's answer in red" + (f": {q.truth:.4f}" if q.kind == "estimate" else "")
            if truth is not None
            else "Answers (no right answer)"
        )
    )
    return {
        "data": [
            {
                "type": "bar",
                "x": [f"{k}·{b}" for k, b in enumerate(bins)],
                "y": counts,
                "marker": {"color": colors},
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": title},
            "height": 260,
            "margin": {"l": 30, "r": 10, "t": 40, "b": 60},
            "xaxis": {
                "type": "category",
                "tickvals": [f"{k}·{b}" for k, b in enumerate(bins)],
                "ticktext": bins,
            },
            "yaxis": {"rangemode": "tozero", "dtick": 1},
        },
    }


@st.fragment(run_every=FOLLOW_CHECK_SECONDS)
def follow_check(version: int | None, online: bool) -> None:
    """The safety net: rerun the follow view when the room moved on and no push arrived (draws nothing).
    Its first run is part of the page's own run, which has just read the room: only the timer's runs look."""
    if not room_state.due_for_check(FOLLOW_CHECK_SECONDS / 2):
        return
    try:
        rooms = shared.hall().rooms
        rooms.follower_seen(room_state.code(), room_state.student())
        snap = rooms.snapshot(room_state.code())
    except StoreUnavailable:
        if version is not None:
            st.rerun()  # say "unavailable" on the page
        return
    if snap is None or snap.version != version or snap.lecturer_online != online:
        st.rerun()
