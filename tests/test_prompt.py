"""The prompt: evidence lines carry only the annotations a sentence does not state itself; reply schemas."""

from __future__ import annotations

from index.records import Article, Sentence
from qa.prompt import build_messages
from qa.records import Evidence


def _ev(n: int, text: str, published: str | None, speaker: str | None = None, role: str | None = None) -> Evidence:
    article = Article.create(title=f"t{n}", text=text, published=published)
    return Evidence(n, article, Sentence(article.id, 0, 0, len(text)), 0.5, speaker=speaker, role=role)


def _lines(question: str, evidence: list[Evidence]) -> list[str]:
    return build_messages(question, evidence)[1].content.split("\n")[1 : 1 + len(evidence)]


def test_a_sentence_naming_its_speaker_and_role_needs_no_annotation() -> None:
    named = _ev(1, "Deputy Foreign Minister Sergei Ryabkov said they are not allies.", "2026-11-24", "Sergei Ryabkov", "Deputy Foreign Minister")
    unnamed = _ev(2, "He added that the talks would go on.", "2026-11-24", "Sergei Ryabkov", "Deputy Foreign Minister")

    assert _lines("Are they allies?", [named, unnamed]) == [
        "[S1] Deputy Foreign Minister Sergei Ryabkov said they are not allies.",
        "[S2] (speaker: Sergei Ryabkov, Deputy Foreign Minister) He added that the talks would go on.",
    ]


def test_dates_are_shown_when_they_differ_or_the_question_is_about_time() -> None:
    march, april = _ev(1, "The barrier opens in June.", "2026-03-03"), _ev(2, "The barrier opens in September.", "2026-04-15")
    same = [_ev(1, "The barrier opens in June.", "2026-03-03"), _ev(2, "It cost a lot.", "2026-03-03")]

    assert _lines("Does the barrier open in June?", [march, april])[1] == "[S2] (2026-04-15) The barrier opens in September."
    assert _lines("What did the barrier cost?", same) == ["[S1] The barrier opens in June.", "[S2] It cost a lot."]
    assert _lines("When does the barrier open?", same)[0] == "[S1] (2026-03-03) The barrier opens in June."
