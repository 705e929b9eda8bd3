"""A LabConfig as plain data: a JSON state file and compact URL query parameters.

Both directions are exact: floats are written with ``repr`` (shortest string that
reads back to the same double), so a link or a file reproduces every number to
the last digit. Reading is forgiving but never silent: each key that is unknown,
of the wrong type, out of range or too large is ignored and named in the
returned list of messages, and the rest is applied.

One way in: a link and a state file are read by the same code (the settings'
declarations, :func:`~attention_core.settings.parse`), and whatever they give is
then made holdable (:func:`~attention_core.lab.make_holdable`): settings that do
not fit together go back to their base values and edits outside the matrices are
dropped, each with a message, so the first run of a link never fails.

A short state travels as readable parameters (``?seed=7&e=W_q:0:0:1.5``); a long
one (hundreds of full-precision edits, a long sentence) as the state document
itself, compressed, under the one key ``z``::

    z = base64url( zlib( JSON state document ) )

and a state too large even for that is refused with :class:`LinkTooLong`, whose
message offers the state file: the app never writes a link it cannot read back.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import zlib
from typing import Any, NamedTuple
from urllib.parse import urlencode

from .errors import ValidationError
from .lab import EDITABLE, MAX_DIM, SETTINGS, LabConfig, make_holdable
from .presets import PRESETS
from .settings import Setting, parse, parse_number
from .view import VIEW_KEYS

MAX_STATE_BYTES = 2_000_000  # a state file larger than this is refused outright
#: The longest query string the app writes (URL-encoded). Chromium takes 2 MB, but a reload
#: sends the address in the request line: Streamlit 1.67's server (uvicorn) answered 70,000
#: characters and refused 200,000 with "400 Bad Request", and proxies are often stricter.
MAX_LINK_CHARS = 32_000
#: A link longer than this is refused outright (what the app writes, plus the view keys).
MAX_QUERY_CHARS = MAX_LINK_CHARS + 1_000
#: Up to this length (URL-encoded) a link stays readable (``?seed=7&e=…``); longer states are
#: written compressed under the key ``z``.
MAX_PLAIN_LINK_CHARS = 2_000
COMPACT_KEY = "z"
MAX_EDITS = 5_000
STATE_VERSION = 1

#: Short URL keys, one per LabConfig setting (declared on the field, see :mod:`.settings`).
QUERY_KEYS: dict[str, str] = {name: spec.key for name, spec in SETTINGS.items()}


# --------------------------------------------------------------------------- one field
def _parse_field(name: str, value: Any, from_text: bool) -> Any:
    """``value`` as the type of LabConfig field ``name``; ValidationError if it is not one."""
    if name not in SETTINGS:
        raise ValidationError("is not a setting")
    return parse(name, SETTINGS[name], value, from_text=from_text)


def _parse_edit(item: Any) -> tuple[str, int, int, float]:
    if not (isinstance(item, (list, tuple)) and len(item) == 4):
        raise ValidationError("an edit must be [matrix, row, column, value]")
    m, r, c, v = item
    if m not in EDITABLE:
        raise ValidationError(f"unknown matrix {str(m)[:20]!r}")
    if isinstance(r, bool) or isinstance(c, bool) or not isinstance(r, int) or not isinstance(c, int):
        raise ValidationError("row and column must be whole numbers")
    if not (0 <= r < 100_000 and 0 <= c <= MAX_DIM):
        raise ValidationError("row or column out of range")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValidationError("the value must be a finite number")
    try:
        return (m, r, c, parse_number(v))
    except ValidationError as exc:
        raise ValidationError(f"the value {exc}") from None


# --------------------------------------------------------------------------- base configs
def _normalise(cfg: LabConfig) -> tuple[str | None, LabConfig]:
    """(preset key or None, cfg) such that the preset's config plus cfg's plain fields and
    edits rebuild cfg exactly. Typed embeddings that are not a preset's become edits."""
    for key, preset in PRESETS.items():
        if (
            preset.config.manual_embeddings is not None
            and preset.config.manual_embeddings == cfg.manual_embeddings
        ):
            return key, cfg
    if cfg.manual_embeddings is None:
        return None, cfg
    cells = {
        ("embeddings", r, c): float(v)
        for r, row in enumerate(cfg.manual_embeddings)
        for c, v in enumerate(row)
        if v != 0
    }
    cells.update(cfg.edit_dict())
    return None, dataclasses.replace(cfg, manual_embeddings=None).with_edits(cells)


def _base(preset: str | None) -> LabConfig:
    return PRESETS[preset].config if preset else LabConfig()


# --------------------------------------------------------------------------- JSON state files
def config_to_dict(cfg: LabConfig) -> dict[str, Any]:
    """Every setting of ``cfg``, JSON-ready (a state file's ``config``)."""
    preset, norm = _normalise(cfg)
    if norm.given:
        raise ValidationError(
            "a configuration with matrices given outright (a real model's head) has no state file"
        )
    out: dict[str, Any] = {name: getattr(norm, name) for name in QUERY_KEYS}
    out["preset"] = preset
    out["edits"] = [list(e) for e in norm.edits]
    return out


def config_from_dict(data: Any) -> tuple[LabConfig, list[str]]:
    """A config from a state file's dict, and one message per key that was ignored."""
    if not isinstance(data, dict):
        raise ValidationError("the state must be a JSON object")
    messages: list[str] = []
    preset = data.get("preset")
    if preset is not None and not (isinstance(preset, str) and preset in PRESETS):
        messages.append(f"ignored 'preset': unknown preset {str(preset)[:40]!r}")
        preset = None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("preset", "edits"):
            continue
        if key not in QUERY_KEYS:
            messages.append(f"ignored unknown key {str(key)[:40]!r}")
            continue
        try:
            values[key] = _parse_field(key, value, from_text=False)
        except ValidationError as exc:
            messages.append(f"ignored '{key}': {exc}")
    cfg = dataclasses.replace(_base(preset), **values)
    kept, about_edits = _read_edit_list(data.get("edits", []))
    held, more = make_holdable(cfg.with_edits(kept), _base(preset))
    return held, messages + about_edits + more


def state_to_json(cfg: LabConfig, **extra: Any) -> str:
    """The whole state as one JSON document (``extra``: page, presentation step, …)."""
    return json.dumps({"version": STATE_VERSION, "config": config_to_dict(cfg), **extra}, indent=1)


def state_from_json(text: str | bytes) -> tuple[LabConfig, dict[str, Any], list[str]]:
    """(config, extra keys, messages) from a state file; ValidationError if it is unusable."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise ValidationError("the state file must be text")
    if len(text) > MAX_STATE_BYTES:
        raise ValidationError(f"the state file is {len(text):,} bytes; the limit is {MAX_STATE_BYTES:,}")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationError(f"the state file is not valid JSON ({str(exc)[:80]!r})") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValidationError("the state file has no 'config' object")
    check_version(data)
    if REAL_HEAD_KEY in data:
        ref = reference_from_dict(data[REAL_HEAD_KEY])
        cfg, messages = real_head_config(ref, data["config"])
    else:
        cfg, messages = config_from_dict(data["config"])
    extra = {k: v for k, v in data.items() if k not in ("version", "config")}
    return cfg, extra, cap_messages(messages)


#: Messages about one link or file shown at most (then "and n more"): 5,000 bad edits or 150,000
#: unknown keys were a 5,000-line (4.2 MB) warning.
MAX_MESSAGES = 8


_MORE = re.compile(r"… and ([0-9,]+) more message\(s\) about this link or file")


def cap_messages(messages: list[str], most: int = MAX_MESSAGES) -> list[str]:
    """Messages about bad input, counted and capped: each distinct message once (with its count when
    repeated), the first ``most`` of them, then one line saying how many more there were. Capping
    capped lists again (several sources shown together) keeps the count of what was left out."""
    counts: dict[str, int] = {}
    hidden = 0
    for m in messages:
        more = _MORE.fullmatch(m)
        if more:
            hidden += int(more.group(1).replace(",", ""))
        else:
            counts[m] = counts.get(m, 0) + 1
    lines = [m if n == 1 else f"{m} (× {n:,})" for m, n in counts.items()]
    if len(lines) > most:
        hidden += sum(list(counts.values())[most:])
        lines = lines[:most]
    return [*lines, f"… and {hidden:,} more message(s) about this link or file"] if hidden else lines


def check_version(data: dict[str, Any]) -> None:
    """Refuse a state document of a version this app does not write, naming the version found."""
    if "version" not in data:
        raise ValidationError(f"the state file has no 'version' (this app reads version {STATE_VERSION})")
    version = data["version"]
    if isinstance(version, bool) or version != STATE_VERSION:
        shown = (
            json.dumps(version)[:40]
            if isinstance(version, (str, int, float, bool, type(None)))
            else type(version).__name__
        )
        raise ValidationError(
            f"the state file is version {shown}; this app reads version {STATE_VERSION} only"
        )


# --------------------------------------------------------------------------- URL query parameters
def _encode_edits(edits: tuple[tuple[str, int, int, float], ...]) -> str:
    return ",".join(f"{m}:{r}:{c}:{v!r}" for m, r, c, v in edits)


def _whole(text: str) -> int:
    """A row or column index written in ASCII digits (int() would also take other scripts' digits)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise ValidationError("bad index")
    return int(text)


def _decode_edits(text: str) -> tuple[dict[tuple[str, int, int], float], list[str]]:
    out: dict[tuple[str, int, int], float] = {}
    bad = 0
    for item in filter(None, text.split(",")):
        parts = item.split(":")
        try:
            if len(parts) != 4:
                raise ValidationError("bad form")
            m, r, c, v = _parse_edit([parts[0], _whole(parts[1]), _whole(parts[2]), parse_number(parts[3])])
            out[(m, r, c)] = v
        except (ValueError, ValidationError):
            bad += 1
    if len(out) > MAX_EDITS:
        return {}, [f"ignored the edits: more than {MAX_EDITS:,} cells"]
    return out, ([f"ignored {bad} malformed edit(s) in 'e'"] if bad else [])


class LinkTooLong(ValidationError):
    """The state is too large for a link even compressed: share the state file instead."""


def link_length(params: dict[str, str]) -> int:
    """Characters of the query string ``params`` make in the address bar (URL-encoded)."""
    return len(urlencode(params))


def encode_compact(cfg: LabConfig) -> str:
    """``cfg`` as base64url(zlib(JSON state document)), without padding: one link value."""
    doc = json.dumps(
        {"version": STATE_VERSION, "config": config_to_dict(cfg)},
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    packed = zlib.compress(doc.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_compact(text: str) -> tuple[LabConfig, list[str]]:
    """The configuration in a ``z`` value, and messages; ValidationError if it is unreadable.

    The document inflates to at most :data:`MAX_STATE_BYTES` (a small link cannot unpack
    into gigabytes) and is then read exactly like a state file.
    """
    cfg, _extra, messages = state_from_json(_inflate(text))
    return cfg, messages


def _inflate(text: str) -> bytes:
    """The state document in a ``z`` value, at most :data:`MAX_STATE_BYTES`; ValidationError if unreadable."""
    if not isinstance(text, str) or not text.isascii():
        raise ValidationError("the compressed state 'z' is not base64url text")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_STATE_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise ValidationError(f"the compressed state 'z' cannot be read ({str(exc)[:60]!r})") from None
    if len(raw) > MAX_STATE_BYTES or inflater.unconsumed_tail:
        raise ValidationError(f"the compressed state 'z' unpacks to more than {MAX_STATE_BYTES:,} bytes")
    return raw


def _plain_query(cfg: LabConfig) -> dict[str, str]:
    """Readable query parameters for ``cfg``: only what differs from its base, plus the edits."""
    preset, norm = _normalise(cfg)
    if norm.given:
        raise ValidationError(
            "a configuration with matrices given outright (a real model's head) has no link"
        )
    base = _base(preset)
    params: dict[str, str] = {}
    if preset:
        params["preset"] = preset
    for name, key in QUERY_KEYS.items():
        value = getattr(norm, name)
        if value != getattr(base, name):
            params[key] = (
                ("1" if value else "0")
                if isinstance(value, bool)
                else (repr(value) if isinstance(value, float) else str(value))
            )
    if norm.edits:
        params["e"] = _encode_edits(norm.edits)
    return params


def config_to_query(cfg: LabConfig, reference: HeadReference | None = None) -> dict[str, str]:
    """Query parameters for ``cfg``: readable when short, else compressed under ``z``.

    Raises :class:`LinkTooLong` (a ValidationError whose message offers the state file) when
    even the compressed form is longer than :data:`MAX_LINK_CHARS`; every link returned here
    reads back to ``cfg`` exactly (:func:`config_from_query`). A real model's head (matrices given
    outright) travels as its ``reference`` (model, sentence, layer, head), the settings it leaves
    free and the edits: its matrices are recomputed from the model when the link is opened.
    """
    if cfg.given and reference is not None:
        return _real_head_query(cfg, reference)
    params = _plain_query(cfg)
    if link_length(params) <= MAX_PLAIN_LINK_CHARS:
        return params
    compact = {COMPACT_KEY: encode_compact(cfg)}
    size = link_length(compact)
    if size <= min(MAX_LINK_CHARS, link_length(params)):
        return compact
    if link_length(params) <= MAX_LINK_CHARS:
        return params
    raise LinkTooLong(
        f"this state needs a link of {size:,} characters even compressed (the limit is "
        f"{MAX_LINK_CHARS:,}); download the state file to keep or share it"
    )


def config_from_query(params: dict[str, str]) -> tuple[LabConfig, list[str]]:
    """A config from query parameters, and messages naming what was ignored (counted and capped:
    :func:`cap_messages`).

    Any keys and values are accepted (any script, any length): what cannot be used is named
    in the messages, and the configuration returned always runs (see :func:`make_holdable`).
    """
    params = {str(k): v if isinstance(v, str) else str(v) for k, v in params.items()}
    total = sum(len(k) + len(v) for k, v in params.items())
    if total > MAX_QUERY_CHARS:
        return LabConfig(), [
            f"ignored the whole link: {total:,} characters (the limit is {MAX_QUERY_CHARS:,})"
        ]
    cfg, messages = _config_from_query(params)
    return cfg, cap_messages(messages)


def _config_from_query(params: dict[str, str]) -> tuple[LabConfig, list[str]]:
    if COMPACT_KEY in params:
        others = sorted(k for k in params if k != COMPACT_KEY and k not in URL_EXTRA_KEYS)
        try:
            cfg, messages = decode_compact(params[COMPACT_KEY])
        except ValidationError as exc:
            return LabConfig(), [f"ignored the whole link: {exc}"]
        if others:
            messages.append(
                f"ignored {', '.join(repr(k[:40]) for k in others[:5])}: the compressed state 'z' "
                "holds the whole configuration"
            )
        return cfg, messages
    if REAL_HEAD_KEY in params:
        return _real_head_from_query(params)
    messages: list[str] = []
    preset = params.get("preset")
    if preset is not None and preset not in PRESETS:
        messages.append(f"ignored 'preset': unknown preset {str(preset)[:40]!r}")
        preset = None
    by_key = {key: name for name, key in QUERY_KEYS.items()}
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("preset", "e") or key in URL_EXTRA_KEYS:
            continue
        if key not in by_key:
            messages.append(f"ignored unknown parameter {str(key)[:40]!r}")
            continue
        try:
            values[by_key[key]] = _parse_field(by_key[key], value, from_text=True)
        except ValidationError as exc:
            messages.append(f"ignored '{key}' ({by_key[key]}): {exc}")
    cfg = dataclasses.replace(_base(preset), **values)
    edits, more = _decode_edits(str(params.get("e", "")))
    held, repaired = make_holdable(cfg.with_edits(edits), _base(preset))
    return held, messages + more + repaired


#: Written instead of the state when it is too large for a link (the reader says so).
TOO_LONG_KEY = "toolong"
#: Query keys the app uses for its own view state (not part of the configuration); the pages' view
#: settings are declared in :mod:`.view`.
URL_EXTRA_KEYS: tuple[str, ...] = (
    "present",
    "step",
    "pal",
    TOO_LONG_KEY,
    "room",
    "key",
    "teach",
    "explore",
    *VIEW_KEYS,
)


# --------------------------------------------------------------------------- a real model's head
#: A state file's or a link's key for a real model's head: {"model", "sentence", "layer", "head"} in a
#: file; ``rh=model:layer:head`` with the sentence the model read under ``s`` in a link.
REAL_HEAD_KEY = "rh"
#: The models whose heads the Playground can open (their modules are read in head_from_reference).
REAL_MODELS: tuple[str, ...] = ("all-MiniLM-L6-v2", "SmolLM2-135M")
#: What a real head fixes (its tokens, sizes and matrices); the other settings (scaling, mask,
#: positions, window) are the person's and travel with it.
REAL_HEAD_FIXED: frozenset[str] = frozenset(
    {
        "sentence",
        "lowercase",
        "keep_punctuation",
        "keep_contractions",
        "cross_sentence",
        "embedding",
        "d_model",
        "d_k",
        "d_v",
        "projections",
        "n_heads",
        "n_kv_heads",
        "random_source",
        "seed",
        "init",
        "embedding_init",
        "draw_order",
    }
)
_LAYER_OR_HEAD = Setting("rh", "int", lo=0, hi=1_000)
_REFERENCE_SENTENCE = Setting("s", "text", max_chars=20_000)


class HeadReference(NamedTuple):
    """Where a real model's head comes from: enough to recompute its matrices exactly."""

    model: str
    sentence: str  # the text the model read (not the Playground's spelled-out tokens)
    layer: int
    head: int


def reference_from_dict(data: Any) -> HeadReference:
    """A head reference from a state file; ValidationError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValidationError(f"'{REAL_HEAD_KEY}' must be an object with model, sentence, layer and head")
    model = data.get("model")
    if model not in REAL_MODELS:
        raise ValidationError(
            f"'{REAL_HEAD_KEY}': unknown model {str(model)[:40]!r} (known: {', '.join(REAL_MODELS)})"
        )
    values = {}
    for name, spec in (
        ("sentence", _REFERENCE_SENTENCE),
        ("layer", _LAYER_OR_HEAD),
        ("head", _LAYER_OR_HEAD),
    ):
        try:
            values[name] = parse(name, spec, data.get(name), from_text=False)
        except ValidationError as exc:
            raise ValidationError(f"'{REAL_HEAD_KEY}' {name}: {exc}", field=name) from None
    return HeadReference(str(model), values["sentence"], int(values["layer"]), int(values["head"]))


def reference_to_dict(ref: HeadReference) -> dict[str, Any]:
    return {"model": ref.model, "sentence": ref.sentence, "layer": ref.layer, "head": ref.head}


def head_from_reference(ref: HeadReference) -> LabConfig:
    """The Playground configuration of the referenced head, recomputed from the installed model
    (ValidationError when the model is not installed or the reference does not fit it)."""
    # The models are optional and heavy: imported only for a real head.
    from .pretrained import minilm, smollm2

    model = {"all-MiniLM-L6-v2": minilm, "SmolLM2-135M": smollm2}[ref.model]
    shape = model.CONFIG  # the pinned model's: a head outside it is refused before anything runs
    if not (0 <= ref.layer < shape.n_layers and 0 <= ref.head < shape.n_heads):
        raise ValidationError(
            f"{ref.model} has layers 0-{shape.n_layers - 1} and heads "
            f"0-{shape.n_heads - 1}, not layer {ref.layer}, head {ref.head}"
        )
    return model.head_config(ref.sentence, ref.layer, ref.head)


def _free_settings(cfg: LabConfig) -> dict[str, Any]:
    return {name: getattr(cfg, name) for name in QUERY_KEYS if name not in REAL_HEAD_FIXED}


def real_head_to_json(cfg: LabConfig, ref: HeadReference, **extra: Any) -> str:
    """A real head's state file: its reference, the settings it leaves free, and the hand edits."""
    config = {**_free_settings(cfg), "edits": [list(e) for e in cfg.edits]}
    return json.dumps(
        {"version": STATE_VERSION, REAL_HEAD_KEY: reference_to_dict(ref), "config": config, **extra}, indent=1
    )


def real_head_config(ref: HeadReference, data: dict[str, Any]) -> tuple[LabConfig, list[str]]:
    """The referenced head with a state file's free settings and edits applied, and messages."""
    try:
        base = head_from_reference(ref)
    except ValidationError as exc:
        raise ValidationError(
            f"the {ref.model} head (layer {ref.layer}, head {ref.head}) cannot be recomputed: {exc}"
        ) from None
    messages: list[str] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "edits":
            continue
        if key in REAL_HEAD_FIXED:
            messages.append(f"ignored '{key}': the real model's head fixes it")
        elif key not in QUERY_KEYS:
            messages.append(f"ignored unknown key {str(key)[:40]!r}")
        else:
            try:
                values[key] = _parse_field(key, value, from_text=False)
            except ValidationError as exc:
                messages.append(f"ignored '{key}': {exc}")
    kept, more = _read_edit_list(data.get("edits", []))
    held, repaired = make_holdable(dataclasses.replace(base, **values).with_edits(kept), base)
    return held, messages + more + repaired


def _read_edit_list(edits: Any) -> tuple[dict[tuple[str, int, int], float], list[str]]:
    if not isinstance(edits, list):
        return {}, ["ignored 'edits': must be a list"]
    if len(edits) > MAX_EDITS:
        return {}, [f"ignored 'edits': more than {MAX_EDITS:,} cells"]
    kept: dict[tuple[str, int, int], float] = {}
    messages: list[str] = []
    for item in edits:
        try:
            m, r, c, v = _parse_edit(item)
            kept[(m, r, c)] = v
        except ValidationError as exc:
            messages.append(f"ignored an edit ({exc})")
    return kept, messages


def _real_head_query(cfg: LabConfig, ref: HeadReference) -> dict[str, str]:
    params = {REAL_HEAD_KEY: f"{ref.model}:{ref.layer}:{ref.head}", "s": ref.sentence}
    for name, value in _free_settings(cfg).items():  # every one: the head's own values are not the defaults
        params[QUERY_KEYS[name]] = (
            ("1" if value else "0")
            if isinstance(value, bool)
            else (repr(value) if isinstance(value, float) else str(value))
        )
    if cfg.edits:
        params["e"] = _encode_edits(cfg.edits)
    if link_length(params) <= MAX_PLAIN_LINK_CHARS:
        return params
    doc = json.dumps(json.loads(real_head_to_json(cfg, ref)), ensure_ascii=False, separators=(",", ":"))
    compact = {
        COMPACT_KEY: base64.urlsafe_b64encode(zlib.compress(doc.encode("utf-8"), 9))
        .decode("ascii")
        .rstrip("=")
    }
    best = min((params, compact), key=link_length)
    if link_length(best) <= MAX_LINK_CHARS:
        return best
    raise LinkTooLong(
        f"this state needs a link of {link_length(best):,} characters even compressed (the limit is "
        f"{MAX_LINK_CHARS:,}); download the state file to keep or share it"
    )


def reference_from_query(params: dict[str, str]) -> HeadReference:
    """The head reference of a link (``rh=model:layer:head``, ``s=`` the sentence the model read)."""
    model, _, rest = str(params.get(REAL_HEAD_KEY, "")).rpartition(":")
    model, _, layer = model.rpartition(":")
    return reference_from_dict(
        {
            "model": model,
            "sentence": params.get("s", ""),
            "layer": _whole_or_text(layer),
            "head": _whole_or_text(rest),
        }
    )


def _whole_or_text(text: str) -> Any:
    """A layer or head number written in the link, read by the one parser of whole numbers."""
    try:
        return parse("layer or head", _LAYER_OR_HEAD, text, from_text=True)
    except ValidationError:
        return text  # refused with the field's name by reference_from_dict


def _real_head_from_query(params: dict[str, str]) -> tuple[LabConfig, list[str]]:
    try:
        ref = reference_from_query(params)
        by_key = {key: name for name, key in QUERY_KEYS.items()}
        data: dict[str, Any] = {}
        messages: list[str] = []
        for key, value in params.items():
            if key in (REAL_HEAD_KEY, "s", "e") or key in URL_EXTRA_KEYS:
                continue
            name = by_key.get(key)
            if name is None:
                messages.append(f"ignored unknown parameter {str(key)[:40]!r}")
                continue
            try:
                data[name] = _parse_field(name, value, from_text=True)
            except ValidationError as exc:
                messages.append(f"ignored '{key}' ({name}): {exc}")
        edits, more = _decode_edits(str(params.get("e", "")))
        data["edits"] = [list(k) + [v] for k, v in edits.items()]
        cfg, rest = real_head_config(ref, data)
        return cfg, messages + more + rest
    except ValidationError as exc:
        return LabConfig(), [f"ignored the whole link: {exc}"]


def link_reference(params: dict[str, str]) -> HeadReference | None:
    """The real head a link opens (plain ``rh=`` or inside ``z``), or None (none, or unreadable: the
    configuration's own reading says why)."""
    try:
        if COMPACT_KEY in params:
            doc = json.loads(_inflate(str(params[COMPACT_KEY])))
            return (
                reference_from_dict(doc[REAL_HEAD_KEY])
                if isinstance(doc, dict) and REAL_HEAD_KEY in doc
                else None
            )
        return reference_from_query(params) if REAL_HEAD_KEY in params else None
    except (ValidationError, ValueError, RecursionError):
        return None
