"""Session state: every write to ``st.session_state`` lives in this package, one module per concern.

* :mod:`ui.state.session`: the configuration (widget key = session key = LabConfig field name);
* :mod:`ui.state.links`: the address bar, state files and other pages asking for a configuration;
* :mod:`ui.state.edits`: hand edits, the stash of edits on regenerated matrices, undo, the nudged cell;
* :mod:`ui.state.widgets`: widget callbacks and the views' small choices (stage, head, clicked weight);
* :mod:`ui.state.room`: the lecture room this session teaches or follows.

Pages call them as ``state.name`` (re-exported here); the process-wide trace cache is not session
state and lives in :mod:`ui.shared`.
"""

from __future__ import annotations

from ui.state import room
from ui.state.edits import (
    UNDO_DEPTH,
    Cell,
    discard_stash,
    fingerprint,
    grid_selected,
    nudge_cell,
    nudge_error,
    on_nudge_live,
    on_nudge_text,
    prime_nudge,
    reconcile_edits,
    refuse_last_edit,
    reset_edits,
    restore_stash,
    set_cell,
    set_matrix_edits,
    take_edit_refused,
    undo_last_edit,
)
from ui.state.links import (
    consume_pending,
    load_page_view_once,
    load_url_once,
    request_config,
    share_link,
    take_load_messages,
    write_page_view,
    write_url,
)
from ui.state.session import (
    RealHead,
    config_without_edits,
    ensure_defaults,
    head_reference,
    last_good_trace,
    load_config,
    open_real_head,
    remember_good,
    remember_real_head,
)
from ui.state.widgets import (
    SEED_SLIDER_MAX,
    clamp_stage,
    current_shuffle,
    exit_presentation,
    focus_head,
    go_stage,
    keep_choice,
    keep_in_range,
    mirror_sentence,
    move_step,
    on_present_sentence,
    on_scale_slider,
    on_seed_exact,
    on_seed_slider,
    replace_setting,
    select_weight,
    shuffle_words,
)

__all__ = [
    "SEED_SLIDER_MAX",
    "UNDO_DEPTH",
    "Cell",
    "RealHead",
    "clamp_stage",
    "config_without_edits",
    "consume_pending",
    "current_shuffle",
    "discard_stash",
    "ensure_defaults",
    "exit_presentation",
    "fingerprint",
    "focus_head",
    "go_stage",
    "grid_selected",
    "head_reference",
    "keep_choice",
    "keep_in_range",
    "last_good_trace",
    "load_config",
    "load_page_view_once",
    "load_url_once",
    "mirror_sentence",
    "move_step",
    "nudge_cell",
    "nudge_error",
    "on_nudge_live",
    "on_nudge_text",
    "on_present_sentence",
    "on_scale_slider",
    "on_seed_exact",
    "on_seed_slider",
    "open_real_head",
    "prime_nudge",
    "reconcile_edits",
    "refuse_last_edit",
    "remember_good",
    "remember_real_head",
    "replace_setting",
    "request_config",
    "reset_edits",
    "restore_stash",
    "room",
    "select_weight",
    "set_cell",
    "set_matrix_edits",
    "share_link",
    "shuffle_words",
    "take_edit_refused",
    "take_load_messages",
    "undo_last_edit",
    "write_page_view",
    "write_url",
]
