"""The tokenizer: the PyTorch seed's recipe, and sensible tokens for any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attention_core import tokenize


def test_pytorch_seed_sentence() -> None:
    # PyTorch seed 002, In [1] and In [2].
    t = tokenize("Life is short, eat dessert first")
    assert t.tokens == ("Life", "is", "short", "eat", "dessert", "first")
    assert t.ids == (0, 4, 5, 2, 1, 3)
    assert t.vocabulary == ("Life", "dessert", "eat", "first", "is", "short")
    assert t.positions == (0, 1, 2, 3, 4, 5)


def test_repeated_words_share_an_id_but_keep_positions() -> None:
    t = tokenize("the cat sat on the mat")
    assert t.tokens == ("the", "cat", "sat", "on", "the", "mat")
    assert t.ids[0] == t.ids[4]
    assert t.positions == tuple(range(6))


def test_options() -> None:
    assert tokenize("The the THE", lowercase=True).ids == (0, 0, 0)
    assert tokenize("Hello, world!", keep_punctuation=True).tokens == ("Hello", ",", "world", "!")
    assert tokenize("Hello, world!").tokens == ("Hello", "world")
    assert tokenize("don't stop").tokens == ("don", "t", "stop")
    assert tokenize("word_1 word_2").tokens == ("word_1", "word_2")  # underscore is a letter


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("café crème", ("café", "crème")),
        ("cafe\u0301", ("café",)),  # combining accent -> one NFC letter
        ("我爱你", ("我", "爱", "你")),  # CJK: one token per ideograph
        ("東京 is big", ("東", "京", "is", "big")),
        ("I ❤️ tea", ("I", "❤️", "tea")),  # emoji with variation selector stays whole
        ("hi😀😀", ("hi", "😀", "😀")),
        ("👩🏽‍💻 codes", ("👩🏽‍💻", "codes")),  # skin tone + ZWJ sequence is one token
        ("zero\u200bwidth", ("zerowidth",)),  # zero-width space is dropped
        ("שלום עולם", ("שלום", "עולם")),  # right-to-left text, word order kept
        ("   ", ()),
        ("?!.,", ()),
        ("", ()),
        ("<b>bold</b>", ("b", "bold", "b")),
    ],
)
def test_unicode(text: str, tokens: tuple[str, ...]) -> None:
    assert tokenize(text).tokens == tokens


def test_keep_punctuation_keeps_markup_literal() -> None:
    assert tokenize("<b>", keep_punctuation=True).tokens == ("<", "b", ">")
    assert tokenize("$x$", keep_punctuation=True).tokens == ("$", "x", "$")
    assert tokenize("a+b=c").tokens == ("a", "b", "c")


@given(st.text(max_size=200), st.booleans(), st.booleans())
def test_any_text_tokenizes_consistently(text: str, lowercase: bool, keep: bool) -> None:
    t = tokenize(text, lowercase=lowercase, keep_punctuation=keep)
    assert len(t.tokens) == len(t.ids) == len(t.positions)
    assert all(tok and not tok.isspace() for tok in t.tokens)
    assert list(t.vocabulary) == sorted(set(t.tokens))
    assert all(t.vocabulary[i] == tok for i, tok in zip(t.ids, t.tokens, strict=True))


def test_non_string_refused() -> None:
    with pytest.raises(TypeError):
        tokenize(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- contractions (issue 26)
@pytest.mark.parametrize(
    ("text", "default", "whole"),
    [
        ("I didn't go", ("I", "didn", "t", "go"), ("I", "didn't", "go")),
        ("she didn’t", ("she", "didn", "t"), ("she", "didn’t")),  # the typographic apostrophe
        ("O'Neil's rock'n'roll", ("O", "Neil", "s", "rock", "n", "roll"), ("O'Neil's", "rock'n'roll")),
        ("'quoted' words'", ("quoted", "words"), ("quoted", "words")),  # quotes at a word's edge stay out
        ("it's 4'5", ("it", "s", "4", "5"), ("it's", "4", "5")),  # only between two letters
    ],
)
def test_contractions_are_kept_whole_only_when_asked(text: str, default: tuple, whole: tuple) -> None:
    assert tokenize(text).tokens == default  # the default is today's: links made before keep their tokens
    assert tokenize(text, keep_contractions=True).tokens == whole


def test_contractions_with_punctuation_kept() -> None:
    t = tokenize("didn't, 'so'", keep_contractions=True, keep_punctuation=True)
    assert t.tokens == ("didn't", ",", "'", "so", "'")


def test_the_hint_names_each_word_the_default_splits() -> None:
    from attention_core.tokenize import split_contractions

    assert split_contractions("I didn't know O’Neil's 'dog' didn't") == ["didn't", "O’Neil's"]
    assert split_contractions("Life is short, eat dessert first") == []


def test_links_made_before_keep_their_tokenization() -> None:
    from attention_core import LabConfig, run_lab
    from attention_core.serialize import config_from_query, config_to_query

    old, _ = config_from_query({"s": "I didn't go"})  # a link from before the option existed
    assert old.keep_contractions is False and run_lab(old).tokens_q.tokens == ("I", "didn", "t", "go")
    new = LabConfig(sentence="I didn't go", keep_contractions=True)
    assert config_to_query(new)["kc"] == "1"
    back, messages = config_from_query(config_to_query(new))
    assert not messages and run_lab(back).tokens_q.tokens == ("I", "didn't", "go")
