"""What a setting is: its link key, its type, its limits. One definition per setting.

Every field of :class:`~attention_core.lab.LabConfig` that a person can set is
declared with :func:`setting`, which stores a :class:`Setting` in the
dataclass field's metadata. Everything else is derived from those
declarations: the link's keys and the state file's keys
(:mod:`.serialize`), the parsing and range checks of a value that arrives as
text or as JSON (:func:`parse`), the validation of a whole configuration, and
and the session-state keys the Playground's widgets use (the field names). A new setting
is therefore one field here plus its widget.

:func:`parse_number` is the one reader of a number typed by a person (a grid
cell, the nudge box, a link): it accepts what Python's ``float`` accepts in
plain ASCII (``1.5``, ``-0.25``, ``+3``, ``1e-5``, ``2.5e3``) and refuses,
with a message that says why, what it would have to guess (``1,5``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ValidationError

Kind = Literal["text", "bool", "int", "float", "choice", "cell"]

# ASCII only: int() and float() also accept other scripts' digits ("١٢") and "_" separators,
# which a link must not half-accept.
_INT = re.compile(r"[+-]?[0-9]{1,24}", re.ASCII)
#: A cell of a matrix in a link: "row.column" (``3.5``), each a whole number in ASCII digits.
_CELL = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?", re.ASCII)
#: Most combining marks allowed in a row (Unicode's stream-safe limit, UAX #15): a browser takes
#: seconds to lay out thousands of marks stacked on one letter, and no script needs more than a few.
MAX_COMBINING_RUN = 30
_SURROGATE = re.compile("[\ud800-\udfff]")
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-"})  # typographic minus signs


@dataclass(frozen=True)
class Setting:
    """How one configuration field travels and what values it may take."""

    key: str  # its key in a link (short) — the state file uses the field name itself
    kind: Kind
    lo: float | None = None  # numbers: smallest allowed value
    hi: float | None = None  # numbers: largest allowed value
    choices: tuple[str, ...] = ()  # kind "choice": the allowed values (kind "int": as text, if only some)
    max_chars: int | None = None  # kind "text": the longest value
    none: str | None = None  # how a link writes "no value" (None), when the setting may have none


def setting(default: Any, key: str, kind: Kind, **limits: Any) -> Any:
    """A dataclass field with ``default`` whose metadata declares it a :class:`Setting`."""
    return dataclasses.field(default=default, metadata={"setting": Setting(key, kind, **limits)})


def settings_of(config_class: type) -> dict[str, Setting]:
    """{field name: Setting} of every declared setting of a dataclass, in field order."""
    return {
        f.name: f.metadata["setting"] for f in dataclasses.fields(config_class) if "setting" in f.metadata
    }


def parse_number(text: object) -> float:
    """A typed number as a finite float, or a :class:`ValidationError` that says what is wrong.

    Accepted: ``1.5``, ``-0.25``, ``+3``, ``.5``, ``1e-5``, ``2.5E3``, surrounding spaces,
    a typographic minus sign. Refused: a decimal comma (``1,5`` could mean 1.5 or 15),
    anything else that is not a number, and values that overflow (``1e999``).
    """
    if isinstance(text, bool):
        raise ValidationError("is true/false, not a number")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = str(text).strip().translate(_MINUS_SIGNS)
        if "," in s and _FLOAT.fullmatch(s.replace(",", ".", 1)):
            raise ValidationError(f"{s[:30]!r} has a decimal comma: write a point (1.5), not a comma")
        if not _FLOAT.fullmatch(s):
            raise ValidationError(f"{s[:30]!r} is not a finite number")
        value = float(s)
    if not math.isfinite(value):
        raise ValidationError("must be a finite number (the largest is about ±1.8e308)")
    return value


def check_text(text: str) -> None:
    """Raise :class:`ValidationError` for text no browser can carry or lay out in time.

    Refused: a lone surrogate (a half of a UTF-16 pair: it cannot be encoded as UTF-8, so the
    page could not be sent), and more than :data:`MAX_COMBINING_RUN` combining marks in a row.
    The message says where, and never repeats the text itself.
    """
    bad = _SURROGATE.search(text)
    if bad:
        raise ValidationError(
            f"has a lone surrogate U+{ord(bad.group()):04X} at character {bad.start():,}, "
            "which cannot be encoded (a broken copy of an emoji?)"
        )
    run = 0
    for i, ch in enumerate(text):
        if ch < "\u0300":  # ASCII and Latin-1 hold no combining mark: the common case stays fast
            run = 0
            continue
        run = run + 1 if unicodedata.category(ch) in ("Mn", "Me") else 0
        if run > MAX_COMBINING_RUN:
            raise ValidationError(
                f"has more than {MAX_COMBINING_RUN} combining marks in a row (at character "
                f"{i:,}); no script needs that many, and browsers take seconds to draw them"
            )


def parse(name: str, spec: Setting, value: Any, *, from_text: bool) -> Any:
    """``value`` as setting ``name`` holds it, or a :class:`ValidationError` naming the field.

    ``from_text=True`` for a link (every value is a string: booleans are ``0``/``1``);
    ``False`` for a state file (JSON types must match: a number is not text).
    """

    def refuse(why: str) -> ValidationError:
        return ValidationError(why, field=name)

    if spec.none is not None and value in (spec.none, None):
        return None

    if spec.kind == "text":
        if not isinstance(value, str):
            raise refuse("must be text")
        if spec.max_chars is not None and len(value) > spec.max_chars:
            raise refuse(f"is {len(value):,} characters long; the limit is {spec.max_chars:,}")
        try:
            check_text(value)
        except ValidationError as exc:
            raise refuse(str(exc)) from None
        return value
    if spec.kind == "bool":
        if from_text and value in ("0", "1"):
            return value == "1"
        if isinstance(value, bool):
            return value
        raise refuse("must be true or false" + (" (0 or 1)" if from_text else ""))
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise refuse(f"must be one of {', '.join(spec.choices)}")
        return value
    if spec.kind == "cell":
        return _parse_cell(spec, value, from_text=from_text, refuse=refuse)
    if spec.kind == "int":
        if from_text and isinstance(value, str):
            if not _INT.fullmatch(value.strip()):
                raise refuse("must be a whole number")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise refuse("must be a whole number")
    else:  # float
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise refuse("must be a number")
        if isinstance(value, str) and not from_text:
            raise refuse("must be a number, not text")
        try:
            value = parse_number(value)
        except ValidationError as exc:
            raise refuse(str(exc)) from None
    if spec.kind == "int" and spec.choices and str(value) not in spec.choices:
        raise refuse(f"must be one of {', '.join(spec.choices)}")
    if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
        raise refuse(
            f"must be between {spec.lo:g} and {spec.hi:g}"
            if spec.kind == "float"
            else f"must be between {int(spec.lo)} and {int(spec.hi)}"
        )
    return value


def parse_whole(text: object, lo: int, hi: int, name: str = "value") -> int | None:
    """A whole number ``lo`` … ``hi`` written in ASCII digits (read by :func:`parse`, as every link key
    is), or None: for page keys whose bad values are ignored with a message of the page's own."""
    try:
        return int(parse(name, Setting(name, "int", lo=lo, hi=hi), str(text), from_text=True))
    except ValidationError:
        return None


def _parse_cell(spec: Setting, value: Any, *, from_text: bool, refuse: Any) -> tuple[int, int]:
    """A (row, column) pair: ``"3.5"`` in a link, ``[3, 5]`` in a state file; each within lo … hi."""
    if from_text and isinstance(value, str):
        match = _CELL.fullmatch(value.strip())
        if not match:
            raise refuse("must be row.column, two whole numbers (e.g. 2.3)")
        pair = (int(match.group(1)), int(match.group(2)))
    elif (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise refuse("must be a row and a column, two whole numbers")
    lo = 0 if spec.lo is None else spec.lo
    hi = math.inf if spec.hi is None else spec.hi
    if not all(lo <= v <= hi for v in pair):
        raise refuse(f"row and column must be between {int(lo)} and {hi:g}")
    return pair


def format_value(spec: Setting, value: Any) -> str:
    """``value`` as a link writes it (read back by :func:`parse` with ``from_text=True``)."""
    if value is None and spec.none is not None:
        return spec.none
    if spec.kind == "bool":
        return "1" if value else "0"
    if spec.kind == "cell":
        return f"{int(value[0])}.{int(value[1])}"
    return repr(value) if isinstance(value, float) else str(value)
