"""Driving the Playground in AppTest as a person does: choose a matrix and a cell, type a value."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def edit_cell(at: AppTest, name: str, row: int, col: int, value: object) -> AppTest:
    """Choose matrix ``name``, row and column in the nudge panel; type ``value`` into its exact-value box."""
    if at.radio(key="edit_matrix").value != name:
        at.radio(key="edit_matrix").set_value(name).run()
    at.selectbox(key=f"nudge_row::{name}").set_value(row).run()
    at.selectbox(key=f"nudge_col::{name}").set_value(col).run()
    at.text_input(key="nudge_text").set_value(value if isinstance(value, str) else repr(value)).run()
    return at


def show_step(at: AppTest, name: str) -> AppTest:
    """Open the tab of registered step ``name`` below the weights (only the open tab is drawn)."""
    from attention_core.steps import BY_NAME

    if at.session_state["step_tab"] != BY_NAME[name].title:
        at.session_state["step_tab"] = BY_NAME[name].title
        at.run()
    return at
