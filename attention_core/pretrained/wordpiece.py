"""BERT's uncased WordPiece tokenizer in pure Python, as ``tokenizers`` runs it.

The pipeline of ``BertTokenizer`` / ``tokenizer.json`` of all-MiniLM-L6-v2::

    raw text ─► special tokens ([CLS], [SEP], [MASK], [PAD], [UNK] typed as such) kept whole
             ─► clean: drop NUL, U+FFFD and control/format characters; whitespace becomes " "
             ─► a space on each side of every CJK ideograph (each becomes a word)
             ─► NFD, drop combining marks (Mn): "Café" -> "Cafe"
             ─► lowercase
             ─► split on whitespace and around every punctuation character
             ─► WordPiece: greedy longest match first, "##" marks a continuation;
                a word longer than 100 characters, or one that cannot be covered, is [UNK]
             ─► [CLS] … [SEP]

Punctuation is ASCII 33–47, 58–64, 91–96, 123–126 (so ``$ + < = > ^ ` | ~`` count)
plus every Unicode category P*. ``tests/fixtures/minilm_reference.json`` holds the ids
the reference tokenizer gives for a catalogue of awkward strings; the tests compare.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CLS, SEP, UNK, PAD, MASK = "[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)
CONTINUATION = "##"
MAX_CHARS_PER_WORD = 100


# ---------------------------------------------------------------------------- Unicode tables
# ``tokenizers`` classifies characters with its own (older) Unicode tables, Python with
# Unicode 14.0 (Python 3.11). Where the two disagree we follow ``tokenizers``; these are all
# the disagreements, found by running its normalizer and pre-tokenizer on every code point
# (tests/fixtures/make_minilm_fixtures.py records them again; tests/test_pretrained.py compares).
# Ranges are inclusive. On a Python with a newer Unicode database a few code points added
# since may still differ.

#: Format characters (Cf) that ``tokenizers`` does not know, so keeps (Python: Cf, dropped).
_CONTROL_KEPT = ((0x0890, 0x0891), (0x08E2, 0x08E2), (0x110CD, 0x110CD), (0x13430, 0x13438))
#: Punctuation (P*) that ``tokenizers`` does not split off.
_PUNCT_NOT = (
    (0x061D, 0x061D),
    (0x09FD, 0x09FD),
    (0x0A76, 0x0A76),
    (0x0C77, 0x0C77),
    (0x0C84, 0x0C84),
    (0x1B7D, 0x1B7E),
    (0x2E43, 0x2E4F),
    (0x2E52, 0x2E5D),
    (0x10EAD, 0x10EAD),
    (0x10F55, 0x10F59),
    (0x10F86, 0x10F89),
    (0x1144B, 0x1144F),
    (0x1145A, 0x1145B),
    (0x1145D, 0x1145D),
    (0x11660, 0x1166C),
    (0x116B9, 0x116B9),
    (0x1183B, 0x1183B),
    (0x11944, 0x11946),
    (0x119E2, 0x119E2),
    (0x11A3F, 0x11A46),
    (0x11A9A, 0x11A9C),
    (0x11A9E, 0x11AA2),
    (0x11C41, 0x11C45),
    (0x11C70, 0x11C71),
    (0x11EF7, 0x11EF8),
    (0x11FFF, 0x11FFF),
    (0x12FF1, 0x12FF2),
    (0x16E97, 0x16E9A),
    (0x16FE2, 0x16FE2),
    (0x1E95E, 0x1E95F),
)
#: Characters ``tokenizers`` splits off as punctuation although Unicode 14 does not call them P*.
_PUNCT_EXTRA = ((0x166D, 0x166D), (0x111C9, 0x111C9))
#: Combining marks (Mn) that ``tokenizers`` does not strip.
_MN_KEPT = (
    (0x07FD, 0x07FD),
    (0x0898, 0x089F),
    (0x08CA, 0x08E1),
    (0x09FE, 0x09FE),
    (0x0AFA, 0x0AFF),
    (0x0B55, 0x0B55),
    (0x0C04, 0x0C04),
    (0x0C3C, 0x0C3C),
    (0x0D00, 0x0D00),
    (0x0D3B, 0x0D3C),
    (0x0D81, 0x0D81),
    (0x0EBA, 0x0EBA),
    (0x180F, 0x180F),
    (0x1885, 0x1886),
    (0x1ABF, 0x1ACE),
    (0x1DF6, 0x1DFB),
    (0xA82C, 0xA82C),
    (0xA8C5, 0xA8C5),
    (0xA8FF, 0xA8FF),
    (0xA9BD, 0xA9BD),
    (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAC),
    (0x10F46, 0x10F50),
    (0x10F82, 0x10F85),
    (0x11070, 0x11070),
    (0x11073, 0x11074),
    (0x110C2, 0x110C2),
    (0x111C9, 0x111C9),
    (0x111CF, 0x111CF),
    (0x1123E, 0x1123E),
    (0x1133B, 0x1133B),
    (0x11438, 0x1143F),
    (0x11442, 0x11444),
    (0x11446, 0x11446),
    (0x1145E, 0x1145E),
    (0x1182F, 0x11837),
    (0x11839, 0x1183A),
    (0x1193B, 0x1193C),
    (0x1193E, 0x1193E),
    (0x11943, 0x11943),
    (0x119D4, 0x119D7),
    (0x119DA, 0x119DB),
    (0x119E0, 0x119E0),
    (0x11A01, 0x11A0A),
    (0x11A33, 0x11A38),
    (0x11A3B, 0x11A3E),
    (0x11A47, 0x11A47),
    (0x11A51, 0x11A56),
    (0x11A59, 0x11A5B),
    (0x11A8A, 0x11A96),
    (0x11A98, 0x11A99),
    (0x11C30, 0x11C36),
    (0x11C38, 0x11C3D),
    (0x11C3F, 0x11C3F),
    (0x11C92, 0x11CA7),
    (0x11CAA, 0x11CB0),
    (0x11CB2, 0x11CB3),
    (0x11CB5, 0x11CB6),
    (0x11D31, 0x11D36),
    (0x11D3A, 0x11D3A),
    (0x11D3C, 0x11D3D),
    (0x11D3F, 0x11D45),
    (0x11D47, 0x11D47),
    (0x11D90, 0x11D91),
    (0x11D95, 0x11D95),
    (0x11D97, 0x11D97),
    (0x11EF3, 0x11EF4),
    (0x16F4F, 0x16F4F),
    (0x16FE4, 0x16FE4),
    (0x1CF00, 0x1CF2D),
    (0x1CF30, 0x1CF46),
    (0x1E000, 0x1E006),
    (0x1E008, 0x1E018),
    (0x1E01B, 0x1E021),
    (0x1E023, 0x1E024),
    (0x1E026, 0x1E02A),
    (0x1E130, 0x1E136),
    (0x1E2AE, 0x1E2AE),
    (0x1E2EC, 0x1E2EF),
    (0x1E944, 0x1E94A),
)
#: Characters ``tokenizers`` strips as accents although Unicode 14 does not call them Mn.
_MN_EXTRA = ((0x1734, 0x1734),)
#: Characters ``tokenizers`` leaves undecomposed in NFD (both are starters, so NFD of the
#: text around them is unaffected).
_NFD_KEPT = "\U00011938"
#: Lowercase mappings ``tokenizers`` (Rust, a newer Unicode) knows and Python 3.11 does not:
#: (first, last, offset) adds ``offset`` to each code point of the range.
_LOWER_EXTRA = (
    (0x1C89, 0x1C89, 1),
    (0xA7CB, 0xA7CB, -42343),
    (0xA7CC, 0xA7CC, 1),
    (0xA7CE, 0xA7CE, 1),
    (0xA7D2, 0xA7D2, 1),
    (0xA7D4, 0xA7D4, 1),
    (0xA7DA, 0xA7DA, 1),
    (0xA7DC, 0xA7DC, -42561),
    (0x10D50, 0x10D65, 32),
    (0x16EA0, 0x16EB8, 27),
)


def _in(cp: int, table: tuple[tuple[int, ...], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi, *_ in table)


def _expand(table: tuple[tuple[int, ...], ...]) -> frozenset[int]:
    return frozenset(cp for lo, hi, *_ in table for cp in range(lo, hi + 1))


_CONTROL_KEPT_SET = _expand(_CONTROL_KEPT)
_MN_KEPT_SET = _expand(_MN_KEPT)
_MN_EXTRA_SET = _expand(_MN_EXTRA)
_LOWER_MAP = {cp: chr(cp + off) for lo, hi, off in _LOWER_EXTRA for cp in range(lo, hi + 1)}
_LOWER_TRANS = str.maketrans(_LOWER_MAP)


def is_control(ch: str) -> bool:
    """Characters ``clean_text`` drops: Cc, Cf, Cs, Co except tab, newline and carriage return.

    Unassigned code points (Cn) are kept, as ``tokenizers`` keeps them (they become [UNK]).
    """
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ord(ch) not in _CONTROL_KEPT_SET


def is_whitespace(ch: str) -> bool:
    """Unicode White_Space (Python's ``isspace`` also counts U+001C..U+001F, Rust does not)."""
    return ch.isspace() and not "\x1c" <= ch <= "\x1f"


def is_punctuation(ch: str) -> bool:
    """ASCII 33-47, 58-64, 91-96, 123-126 and Unicode P* (as ``tokenizers`` knows them)."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    if cp < 128:
        return False
    if unicodedata.category(ch).startswith("P"):
        return not _in(cp, _PUNCT_NOT)
    return _in(cp, _PUNCT_EXTRA)


def is_cjk(ch: str) -> bool:
    """CJK Unified Ideographs, extensions and compatibility ideographs (not kana or hangul).

    The ranges of ``tokenizers``, whose Extension E starts at U+2B920 (not U+2B820 as in
    the Python BERT tokenizer): U+2B820..U+2B91F are not split into single tokens.
    """
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B920 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_accent(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x300:
        return False
    if unicodedata.category(ch) == "Mn":
        return cp not in _MN_KEPT_SET
    return cp in _MN_EXTRA_SET


def _nfd(text: str) -> str:
    if not any(ch in text for ch in _NFD_KEPT):
        return unicodedata.normalize("NFD", text)
    pieces = [text]
    for ch in _NFD_KEPT:
        pieces = [q for p in pieces for q in _interleave(p.split(ch), ch)]
    return "".join(p if p in _NFD_KEPT else unicodedata.normalize("NFD", p) for p in pieces)


def _interleave(parts: list[str], sep: str) -> list[str]:
    out = [parts[0]]
    for p in parts[1:]:
        out += [sep, p]
    return out


def normalize(text: str) -> str:
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase), in that order."""
    out: list[str] = []
    for ch in text:
        if ch == "\x00" or ch == "\ufffd" or is_control(ch):
            continue
        if is_whitespace(ch):
            out.append(" ")
        elif is_cjk(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = _nfd("".join(out))
    text = "".join(ch for ch in text if not _is_accent(ch))
    return text.lower().translate(_LOWER_TRANS)


def pre_tokenize(text: str) -> list[str]:
    """Split normalised text on whitespace and around each punctuation character."""
    words: list[str] = []
    word: list[str] = []
    for ch in text:
        if is_whitespace(ch) or is_punctuation(ch):
            if word:
                words.append("".join(word))
                word = []
            if not is_whitespace(ch):
                words.append(ch)
        else:
            word.append(ch)
    if word:
        words.append("".join(word))
    return words


def _split_specials(text: str) -> list[tuple[str, bool]]:
    """Cut the raw text around special tokens typed verbatim: [(piece, is_special), …]."""
    pieces: list[tuple[str, bool]] = []
    start = i = 0
    while True:
        i = text.find("[", i)
        if i < 0:
            break
        hit = next((s for s in SPECIAL_TOKENS if text.startswith(s, i)), None)
        if hit is None:
            i += 1
            continue
        if i > start:
            pieces.append((text[start:i], False))
        pieces.append((hit, True))
        i = start = i + len(hit)
    if start < len(text):
        pieces.append((text[start:], False))
    return pieces


@dataclass(frozen=True)
class Encoding:
    tokens: tuple[str, ...]  # (n,) with [CLS] first and [SEP] last
    ids: tuple[int, ...]  # (n,) rows of the vocabulary


class WordPiece:
    """The tokenizer over one vocabulary (token -> id, the line number in vocab.txt)."""

    def __init__(self, vocab: Sequence[str]) -> None:
        self.vocab: dict[str, int] = {}
        for i, tok in enumerate(vocab):
            self.vocab.setdefault(tok, i)
        missing = [t for t in (CLS, SEP, UNK) if t not in self.vocab]
        if missing:
            from ..errors import ValidationError

            raise ValidationError(f"the vocabulary lacks the special tokens {missing}")
        self.specials = tuple(t for t in SPECIAL_TOKENS if t in self.vocab)

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        """One token per line, as in ``vocab.txt`` (the line number is the id)."""
        with open(path, encoding="utf-8") as fh:
            return cls([line.rstrip("\n") for line in fh])

    def word_pieces(self, word: str) -> list[str]:
        """Greedy longest-match-first pieces of one word, or [UNK] for the whole word."""
        if len(word) > MAX_CHARS_PER_WORD:
            return [UNK]
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                candidate = word[start:end] if start == 0 else CONTINUATION + word[start:end]
                if candidate in self.vocab:
                    piece = candidate
                    break
                end -= 1
            if piece is None:
                return [UNK]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``, without [CLS] and [SEP]."""
        tokens: list[str] = []
        for piece, special in _split_specials(text):
            if special and piece in self.specials:
                tokens.append(piece)
                continue
            for word in pre_tokenize(normalize(piece)):
                tokens.extend(self.word_pieces(word))
        return tokens

    def encode(self, text: str) -> Encoding:
        """[CLS] + tokens + [SEP], with their ids."""
        tokens = [CLS, *self.tokenize(text), SEP]
        return Encoding(tokens=tuple(tokens), ids=tuple(self.vocab[t] for t in tokens))

    def ids(self, tokens: Iterable[str]) -> list[int]:
        return [self.vocab[t] for t in tokens]
