"""Quote verification, sentence splitting and imported quotes (tasks.assistance.evidence)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.assistance import external_quote, normalise, split_sentences, verify_quote
from tasks.items import Item, Quote, Source

SOURCE = "Sea level  rose by 20 cm since 1900. It's  \u201caccelerating\u201d now,\nsays the IPCC (2021)."


def test_exact_quote_is_verified_with_offsets_into_the_original() -> None:
    check = verify_quote("rose by 20 cm since 1900", SOURCE)
    assert check.verified
    assert SOURCE[check.start : check.end] == "rose by 20 cm since 1900"


@pytest.mark.parametrize(
    ("quote", "expected_span"),
    [
        ("SEA LEVEL ROSE", "Sea level  rose"),  # case, and a double space in the source
        ("it's accelerating now says", "It's  \u201caccelerating\u201d now,\nsays"),  # quotes, comma, newline
        ("Its accelerating", "It's  \u201caccelerating"),  # apostrophe dropped, closing quote outside the span
        ('"the IPCC, (2021)."', "the IPCC (2021"),  # punctuation differences
        ("sea   level\trose", "Sea level  rose"),  # whitespace in the quote
    ],
)
def test_normalised_quote_is_verified_and_offsets_cover_the_matched_words(quote: str, expected_span: str) -> None:
    check = verify_quote(quote, SOURCE)
    assert check.verified, quote
    assert SOURCE[check.start : check.end] == expected_span


@pytest.mark.parametrize(
    "quote",
    [
        "Sea level rose by 30 cm since 1900",  # changed number: fabricated
        "rose by 20 cm since 1800",
        "the IPCC says it is accelerating",  # paraphrase, words reordered
        "ea level",  # starts inside a word
        "",
        " ... ",  # only punctuation
    ],
)
def test_fabricated_or_partial_quote_is_not_verified(quote: str) -> None:
    assert verify_quote(quote, SOURCE) == (False, None, None)


def test_normalise_folds_case_punctuation_and_whitespace() -> None:
    assert normalise("  Don\u2019t  PANIC -- it's (only) CO\u2082! ") == "dont panic its only co2"


words = st.lists(
    st.sampled_from(["ice", "Sea", "level,", "rose;", "CO2", "(fast)", "it's", "warm-er", "1.5"]),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(words=words, data=st.data())
def test_any_word_span_of_a_source_verifies_and_maps_back(words: list[str], data: st.DataObject) -> None:
    source = "  ".join(words) if data.draw(st.booleans()) else " ".join(words)
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i + 1, len(words)))
    quote = " ".join(words[i:j]).upper()
    check = verify_quote(quote, source)
    if not normalise(quote):
        assert not check.verified
        return
    assert check.verified
    # The highlighted original text normalises to exactly the quote.
    assert normalise(source[check.start : check.end]) == normalise(quote)


def test_split_sentences_gives_spans_of_the_original_text() -> None:
    text = 'First one. Second "quoted." Third?  Fourth! last'
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["First one.", 'Second "quoted."', "Third?", "Fourth!", "last"]


def test_split_sentences_drops_spans_without_words() -> None:
    # Real Climate-FEVER evidence starts with "... "; such a span would be an unverifiable quote.
    text = "... there is a strong body of evidence. [...] It is consistent."
    assert [text[a:b] for a, b in split_sentences(text)] == ["there is a strong body of evidence.", "It is consistent."]


def test_split_sentences_keeps_numbers_together() -> None:
    assert [s for s in split_sentences("Warming of 1.5 degrees is likely. Yes.")] == [(0, 33), (34, 38)]


def _item(**extra: object) -> Item:
    return Item(
        item_id="q1",
        claim="Seas are rising.",
        gold_label="correct",
        sources=[Source(title="Sea level", text=SOURCE), Source(title="Ice", text="Greenland lost ice mass in 2019.")],
        **extra,
    )


def test_external_quote_verified_against_cited_source_by_title() -> None:
    quote = external_quote(_item(), Quote(text="greenland LOST ice mass", source="Ice"))
    assert quote["verified"] and quote["source_index"] == 1 and quote["source_title"] == "Ice"
    assert _item().sources[1].text[quote["start"] : quote["end"]] == "Greenland lost ice mass"


def test_external_quote_found_in_another_source_names_the_real_source() -> None:
    quote = external_quote(_item(), Quote(text="Greenland lost ice", source=0))
    assert quote["verified"] and quote["source_index"] == 1


def test_external_fabricated_quote_is_flagged() -> None:
    quote = external_quote(_item(), Quote(text="Antarctica gained ice", source="Ice"))
    assert quote["verified"] is False and quote["start"] is None and quote["end"] is None
    assert quote["source_index"] == 1


def test_external_quote_with_unknown_source_is_flagged() -> None:
    quote = external_quote(_item(), Quote(text="not in any source", source="Nowhere"))
    assert quote == {
        "text": "not in any source",
        "source_index": -1,
        "source_title": "Nowhere",
        "verified": False,
        "start": None,
        "end": None,
        "score": None,
    }
