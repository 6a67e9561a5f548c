"""Sentence offsets and chunking: exact spans, quotation-aware, every character covered."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from index.chunk import chunk_article
from index.clean import clean
from index.load import iter_documents
from index.records import Article
from index.sentences import sentences_of, split_sentences

SAMPLE = Path(__file__).resolve().parents[1] / "briefings" / "russia-iran-not-allies-in-syria.txt"
TEXT_CHARS = st.sampled_from(list("abc XYZ.?!,\"“”’'\n0123456789Mr"))


def sample_article(sample_path) -> Article:
    (doc,) = list(iter_documents([sample_path]))
    article = clean(doc)
    assert isinstance(article, Article)
    return article


@given(st.text(TEXT_CHARS, max_size=300))
def test_spans_are_ordered_trimmed_and_cover_every_visible_character(text: str) -> None:
    spans = split_sentences(text)
    covered = set()
    last_end = 0
    for start, end in spans:
        assert last_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        covered.update(range(start, end))
        last_end = end
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_never_cuts_inside_a_closed_quotation() -> None:
    text = 'Dzhagaryan said, "the weakening is a myth. Those who talk are enemies." Then he left.'
    assert [text[s:e] for s, e in split_sentences(text)] == [
        'Dzhagaryan said, "the weakening is a myth. Those who talk are enemies."',
        "Then he left.",
    ]


def test_mixed_straight_and_curly_quotes_and_abbreviations() -> None:
    text = '"The Israelis know this, the U.S. knows this. This is a priority,” The Times quoted him. Mr. Ryabkov agreed.'
    assert [text[s:e] for s, e in split_sentences(text)] == [
        '"The Israelis know this, the U.S. knows this. This is a priority,” The Times quoted him.',
        "Mr. Ryabkov agreed.",
    ]


def test_sample_article_keeps_negations_inside_sentences(sample_path) -> None:
    article = sample_article(sample_path)
    texts = [article.text[s.start : s.end] for s in sentences_of(article.id, article.text)]
    assert any("Russia and Iran are not allies in Syria." in t for t in texts)
    assert any(t.startswith("During an interview with CNN") and t.endswith('state of Israel."') for t in texts)


@given(st.integers(5, 60), st.integers(0, 2))
def test_chunks_are_exact_spans_and_cover_all_sentences(max_words: int, overlap: int) -> None:
    article = sample_article(SAMPLE)
    sentences = sentences_of(article.id, article.text)
    chunks = chunk_article(article, sentences, max_words=max_words, overlap=overlap)
    assert {i for c in chunks for i in c.sentence_ids} == set(range(len(sentences)))
    for c in chunks:
        assert c.text == article.text[c.start : c.end]
        assert list(c.sentence_ids) == list(range(c.sentence_ids[0], c.sentence_ids[-1] + 1))
    assert len({c.id for c in chunks}) == len(chunks)
