"""Byte-level BPE as llama.cpp runs SmolLM2's tokenizer (pre-tokenizer ``smollm``).

The vocabulary (49,152 pieces) and the merges (48,900 pairs, in priority order) come from
the GGUF file's metadata (``tokenizer.ggml.tokens``, ``tokenizer.ggml.merges``); the
work is done by the ``tokenizers`` library (Hugging Face's Rust tokenizer), set up the
way llama.cpp's ``smollm`` pre-tokenizer splits text::

    1. every digit on its own           regex \\p{N}            "2024" -> "2" "0" "2" "4"
    2. then the GPT-2 pattern           's|'t|…| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    3. bytes -> printable characters    GPT-2's byte table: " " -> "Ġ", "\\n" -> "Ċ"
    4. BPE merges inside each piece     "Ġ" "M" "a" "r" "y" -> … -> "ĠMary"

No BOS token is added (``tokenizer.ggml.add_bos_token`` is false) and no prefix space.
Text is read as plain text: a typed ``<|im_start|>`` is seven pieces of text, not the
control token (llama.cpp's ``parse_special = false``).

Why the digits matter: transformers' GGUF loader builds this tokenizer without step 1.
The vocabulary holds no piece with two digits, so "2024" gives the same ids either way,
but the whitespace before a number does not: "Total:  42" is ``ĠĠ 4 2`` here (the two
spaces are a piece of their own once the digits are cut off) and ``Ġ Ġ 4 2`` in
transformers. We follow llama.cpp and the file's declared pre-tokenizer (``smollm``;
SmolLM2's own ``tokenizer.json`` also splits digits), since the model was trained on that.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError


def _byte_table() -> dict[str, int]:
    """GPT-2's printable character for each byte, reversed: character -> byte value."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = dict(zip(keep, keep))
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = 256 + extra  # bytes that are not printable move up past 255
            extra += 1
    return {chr(c): b for b, c in chars.items()}


BYTE_OF_CHAR: dict[str, int] = _byte_table()
#: Whitespace made visible in token labels.
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


@dataclass(frozen=True)
class Encoding:
    """``text`` as token ids, their vocabulary pieces and the text each piece stands for."""

    ids: tuple[int, ...]
    pieces: tuple[str, ...]  # byte-level vocabulary strings ("ĠMary")
    texts: tuple[str, ...]  # the bytes each piece stands for, decoded (" Mary"; "\\xc3" for half a letter)


def piece_bytes(piece: str) -> bytes:
    """The bytes a byte-level vocabulary piece stands for ("ĠMary" -> b" Mary")."""
    try:
        return bytes(BYTE_OF_CHAR[c] for c in piece)
    except KeyError:  # a control token such as <|im_end|> is stored as its text
        return piece.encode("utf-8")


def piece_text(piece: str) -> str:
    """A piece's text; a piece that holds part of a UTF-8 character shows its bytes (``\\xc3``)."""
    return piece_bytes(piece).decode("utf-8", errors="backslashreplace")


def readable(text: str) -> str:
    """A token's text with its whitespace made visible: " Mary" -> "␣Mary", "\\n" -> "↵"."""
    return "".join(VISIBLE.get(c, c) for c in text) or "∅"


class ByteLevelBPE:
    """SmolLM2's tokenizer from the GGUF vocabulary and merges (see the module text)."""

    def __init__(self, tokens: list[str], merges: list[str]) -> None:
        try:
            from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
        except ImportError:
            from .loader import ModelNotInstalled

            raise ModelNotInstalled(
                "The tokenizers package is not installed. Install it with:  "
                "pip install 'tokenizers>=0.21,<1'",
                field="model",
            ) from None
        vocab = {piece: i for i, piece in enumerate(tokens)}
        if len(vocab) != len(tokens):
            raise ValidationError("the vocabulary repeats a piece")
        pairs = []
        for m in merges:
            left, sep, right = m.partition(" ")
            if not sep or not left or not right:
                raise ValidationError(f"a merge must be two pieces separated by a space, got {m!r}")
            pairs.append((left, right))
        tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False))
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),  # llama.cpp's first smollm regex
                pre_tokenizers.ByteLevel(
                    add_prefix_space=False, use_regex=True
                ),  # the GPT-2 pattern, then bytes
            ]
        )
        tok.decoder = decoders.ByteLevel()
        self._tok = tok
        self.tokens = list(tokens)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> Encoding:
        """Token ids of ``text`` (no BOS, no special tokens parsed)."""
        if not isinstance(text, str):
            raise ValidationError("the text must be a string", field="text")
        ids = tuple(self._tok.encode(text, add_special_tokens=False).ids)
        pieces = tuple(self.tokens[i] for i in ids)
        return Encoding(ids=ids, pieces=pieces, texts=tuple(piece_text(p) for p in pieces))

    def label(self, token_id: int) -> str:
        """A token's text with its whitespace made visible (for tables and axes)."""
        return readable(piece_text(self.tokens[token_id]))

    def decode(self, ids: list[int] | tuple[int, ...]) -> str:
        """The text of a sequence of ids (bytes joined first, so split letters come back whole)."""
        return b"".join(piece_bytes(self.tokens[i]) for i in ids).decode("utf-8", errors="replace")
