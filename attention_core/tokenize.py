"""The one tokenizer of the app: words, their positions and vocabulary ids.

It follows the PyTorch seed notebook exactly for plain English::

    dc = {s: i for i, s in enumerate(sorted(sentence.replace(',', '').split()))}
    ids = [dc[s] for s in sentence.replace(',', '').split()]
    # "Life is short, eat dessert first" -> [0, 4, 5, 2, 1, 3]

generalised so that any text gives sensible tokens:

* the text is NFC-normalised (an "é" typed as e + combining accent is one letter);
* invisible format characters (zero-width space, BOM, direction marks) are dropped,
  except the zero-width joiner inside an emoji sequence;
* punctuation, and the math, currency and modifier symbols (``< > + $ ^``), is
  dropped (``keep_punctuation=False``, the seed's behaviour, which drops the
  comma) or split off as tokens of its own; ``_`` counts as a letter;
* each CJK ideograph, kana or hangul syllable is a token (these scripts do not
  separate words with spaces), and so is each emoji or other symbol together
  with its modifiers (skin tone, variation selector, ZWJ sequence);
* an apostrophe between two letters ("didn't", "O’Neil") splits the word like any punctuation
  (the seed's behaviour), unless ``keep_contractions`` keeps such a word whole;
* ids number the *sorted* unique tokens (Python's code-point order, so
  "Life" < "dessert"), exactly as the seed's ``sorted(...)`` does.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_ZWJ = "\u200d"
#: Apostrophes that join a contraction ("didn't", "didn’t") when ``keep_contractions`` is on.
APOSTROPHES = frozenset("'\u2019")


@dataclass(frozen=True)
class Tokenization:
    """Tokens of one sentence, in order, with position and vocabulary id."""

    tokens: tuple[str, ...]  # (n,) the tokens, as shown on the heatmap axes
    positions: tuple[int, ...]  # (n,) 0, 1, …, n-1
    ids: tuple[int, ...]  # (n,) index of each token in `vocabulary`
    vocabulary: tuple[str, ...]  # sorted unique tokens; id i names vocabulary[i]

    def __len__(self) -> int:
        return len(self.tokens)


def _is_cjk(ch: str) -> bool:
    """Ideographs, kana, hangul: scripts written without spaces between words."""
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2FA1F
        or 0xF900 <= cp <= 0xFAFF
        or 0x3040 <= cp <= 0x30FF
        or 0xAC00 <= cp <= 0xD7AF
    )


def _is_symbol(ch: str) -> bool:
    """Emoji and other symbols (Unicode category So), each a token of its own."""
    return unicodedata.category(ch) == "So"


def _is_modifier(ch: str) -> bool:
    """Characters that belong to the symbol before them (variation selectors, skin tones)."""
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def _inside_word(text: str, i: int, word: list[str]) -> bool:
    """Whether the apostrophe at ``text[i]`` joins two letters of one word ("didn't")."""
    return bool(word) and word[-1].isalpha() and i + 1 < len(text) and text[i + 1].isalpha()


def _split(text: str, keep_punctuation: bool, keep_contractions: bool = False) -> list[str]:
    """Cut normalised text into raw tokens (before lowercasing and ids)."""
    tokens: list[str] = []
    word: list[str] = []

    def flush() -> None:
        if word:
            tokens.append("".join(word))
            word.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        cat = unicodedata.category(ch)
        if ch.isspace() or cat in ("Zs", "Zl", "Zp", "Cc"):
            flush()
        elif _is_symbol(ch):
            flush()
            sym = [ch]  # absorb modifiers and ZWJ-joined symbols: 👩🏽‍💻 is one token
            while i + 1 < len(text) and (_is_modifier(text[i + 1]) or text[i + 1] == _ZWJ):
                i += 1
                sym.append(text[i])
                if text[i] == _ZWJ and i + 1 < len(text) and _is_symbol(text[i + 1]):
                    i += 1
                    sym.append(text[i])
            tokens.append("".join(sym).rstrip(_ZWJ))
        elif _is_cjk(ch):
            flush()
            tokens.append(ch)
        elif keep_contractions and ch in APOSTROPHES and _inside_word(text, i, word):
            word.append(ch)
        elif (cat.startswith("P") or cat in ("Sm", "Sc", "Sk")) and ch != "_":
            flush()
            if keep_punctuation:
                tokens.append(ch)
        elif cat in ("Cf", "Cs", "Co", "Cn") or _is_modifier(ch):
            pass  # invisible or unassigned: zero-width space, BOM, direction marks
        elif cat.startswith("M") and not word:
            pass  # a combining mark with nothing to combine with
        else:
            word.append(ch)
        i += 1
    flush()
    return tokens


def tokenize(
    sentence: str, *, lowercase: bool = False, keep_punctuation: bool = False, keep_contractions: bool = False
) -> Tokenization:
    """Tokens, positions and vocabulary ids of ``sentence``.

    ``lowercase`` folds case before building the vocabulary (so "The" and "the"
    share an id); ``keep_punctuation`` makes each punctuation mark a token
    instead of dropping it; ``keep_contractions`` keeps a word with an apostrophe
    between two letters whole ("didn't" rather than "didn", "t"). An empty result
    is allowed here; the app refuses it with a message.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    text = unicodedata.normalize("NFC", sentence)
    raw = _split(text, keep_punctuation, keep_contractions)
    tokens = tuple(t.lower() for t in raw) if lowercase else tuple(raw)
    vocabulary = tuple(sorted(set(tokens)))
    index = {tok: i for i, tok in enumerate(vocabulary)}
    return Tokenization(
        tokens=tokens,
        positions=tuple(range(len(tokens))),
        ids=tuple(index[t] for t in tokens),
        vocabulary=vocabulary,
    )


def split_contractions(sentence: str) -> list[str]:
    """The words of ``sentence`` that an apostrophe between two letters splits into several tokens
    ("didn't" → "didn", "t"), as typed: what ``keep_contractions`` would keep whole."""
    if not isinstance(sentence, str):
        return []
    text = unicodedata.normalize("NFC", sentence)
    whole = _split(text, keep_punctuation=False, keep_contractions=True)
    return list(dict.fromkeys(t for t in whole if any(a in t for a in APOSTROPHES)))
