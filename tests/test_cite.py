"""Citation resolution: markers → exact spans; model quote text is never trusted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from index.records import Article
from index.sentences import sentences_of
from qa.cite import find_span, resolve, verify
from qa.records import Evidence

TEXT = (
    "Ryabkov answered, “I wouldn’t use this type of words to describe where we are with Iran.” "
    "Dzhagaryan said, \"the weakening of the Iran-Russia  alliance is a myth.\" Talks continue."
)


def evidence_for(text: str) -> list[Evidence]:
    article = Article.create(title="t", text=text)
    return [Evidence(i + 1, article, s, 0.5) for i, s in enumerate(sentences_of(article.id, text))]


def test_markers_resolve_to_exact_sentences_and_are_renumbered() -> None:
    ev = evidence_for(TEXT)
    r = resolve("Ryabkov said no [S1], Dzhagaryan disagreed [S2]. See [S2].", ev)
    assert r.text == "Ryabkov said no [1], Dzhagaryan disagreed [2]. See [2]."
    assert [c.quote for c in r.citations] == [ev[0].text, ev[1].text]
    assert all(c.verified and TEXT[c.start : c.end] == c.quote for c in r.citations)


def test_unknown_ids_are_dropped_and_noted() -> None:
    r = resolve("Made up [S9]. Real [S3].", evidence_for(TEXT))
    assert r.text == "Made up. Real [1]."
    assert [c.quote for c in r.citations] == ["Talks continue."]
    assert any("S9" in n for n in r.notes)


def test_verified_phrase_narrows_the_citation_to_the_article_text() -> None:
    ev = evidence_for(TEXT)
    r = resolve('He said "I wouldn\'t use this type of words" [S1].', ev)
    (c,) = r.citations
    assert c.quote == "I wouldn’t use this type of words"  # the article's curly apostrophe, not the model's
    assert "“I wouldn’t use this type of words”" in r.text
    assert verify(ev[0].article, c.start, c.end, c.quote)


def test_invented_quotation_loses_its_quote_marks() -> None:
    r = resolve('Dzhagaryan said "Iran is our closest friend" [S2].', evidence_for(TEXT))
    assert '"' not in r.text and "“" not in r.text
    assert r.citations[0].quote.startswith("Dzhagaryan said")  # the whole real sentence is cited instead
    assert any("unverified" in n for n in r.notes)


def test_multi_id_markers() -> None:
    r = resolve("Both spoke [S1, S2].", evidence_for(TEXT))
    assert r.text == "Both spoke [1][2]."
    assert len(r.citations) == 2


WORDS = st.sampled_from(["Iran", "ally", "“myth”", "’s", "not", "Russia,", "\"quote\"", "\u00a0", "  ", "\n", "Hé", "x."])


@given(st.lists(WORDS, min_size=1, max_size=40).map(" ".join), st.data())
def test_find_span_maps_any_substring_back_to_exact_offsets(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    needle = text[start:end]
    if not needle.strip():
        return
    # the model may straighten quotes, change case and squeeze whitespace
    mangled = " ".join(needle.replace("“", '"').replace("”", '"').replace("’", "'").upper().split())
    span = find_span(text, mangled)
    assert span is not None
    s, e = span
    assert " ".join(text[s:e].split()).lower().replace("“", '"').replace("”", '"').replace("’", "'") == " ".join(
        needle.split()
    ).lower().replace("“", '"').replace("”", '"').replace("’", "'")


@given(st.text(st.sampled_from(list("ab “”\"’'.[]S1234 \n")), max_size=120))
def test_resolve_never_shows_an_unverified_quote(answer: str) -> None:
    ev = evidence_for(TEXT)
    r = resolve(answer, ev)
    for c in r.citations:
        assert c.verified and ev[0].article.text[c.start : c.end] == c.quote


def test_a_pile_of_ids_is_pruned_to_the_supporting_ones() -> None:
    ev = evidence_for(TEXT)
    r = resolve("Dzhagaryan called the weakening of the alliance a myth [S1], [S2], [S3].", ev)
    assert [c.quote for c in r.citations] == [ev[1].text]


def test_uncited_draft_gets_the_best_supporting_sentence() -> None:
    ev = evidence_for(TEXT)
    r = resolve("Ryabkov answered that he wouldn't use this type of words about Iran.", ev)
    assert r.text.endswith("[1].") and r.citations[0].quote == ev[0].text
    assert resolve("Oil exports to China grew.", ev).citations == ()


def test_a_miscounted_id_is_re_pointed_to_the_supporting_sentence() -> None:
    ev = evidence_for(TEXT)
    r = resolve("Dzhagaryan said the weakening of the Iran-Russia alliance is a myth [S3].", ev)
    assert [c.quote for c in r.citations] == [ev[1].text]
    assert any("re-pointed" in n for n in r.notes)
