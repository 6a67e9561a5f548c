"""Stance cues, verdicts, and the code-side refusal checks."""

from __future__ import annotations

import pytest

from qa.chat import contextualize
from index.records import Article
from index.sentences import sentences_of
from qa.records import Evidence
from qa.question import asked_speaker, question_names
from qa.policy import Case, Policy
from qa.question import profile_of
from qa.refusal import missing_names, speaker_found
from qa.speaker import speech_by
from qa.stance import is_yes_no, stance_of, verdict_of

ALLY = "Did Russia call Iran an ally?"


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Sergei Ryabkov has said Russia and Iran are not allies in Syria.", "no"),
        ("Dzhagaryan said, \"the weakening of the Iran-Russia alliance is a myth.\"", "yes"),
        ("They visit Iran regularly \"to report to [our] Iranian ally about Syria.\"", "yes"),
        ("When asked if Russia was Iran's ally on the ground in Syria, Ryabkov answered, \"I wouldn't use this type of words.\"", "no"),
        ("Ryabkov's denial of Russia's alliance with Iran contradicted remarks by the ambassador.", "no"),
        ("Air defenses did react more aggressively in 2018.", "neutral"),
    ],
)
def test_stance_of_sentences_on_the_ally_question(sentence: str, expected: str) -> None:
    assert stance_of(ALLY, sentence) == expected


def test_verdicts() -> None:
    assert verdict_of(ALLY, ["no", "yes"]) == "mixed"
    assert verdict_of(ALLY, ["no", "neutral"]) == "contradicted"
    assert verdict_of(ALLY, ["yes"]) == "supported"
    assert verdict_of("Who is Sergei Ryabkov?", ["no"]) == "supported"
    assert verdict_of(ALLY, ["yes"], refused=True) == "not_found"
    assert is_yes_no("Has Israel acknowledged the strikes?") and not is_yes_no("How far did they move?")


def test_names_and_missing_names() -> None:
    assert question_names("How much oil does Iran export to China?") == ["Iran", "China"]
    assert question_names("Who is Sergei Ryabkov?") == ["Sergei Ryabkov"]
    assert missing_names("How much oil does Iran export to China?", "Iranian oil exports rose.") == ["China"]
    assert missing_names("How far from the Israeli border?", "the borders of Israel") == []
    assert missing_names("Does Boris Johnson think Livingstone was anti-Semitic?", "Mr Johnson: not anti-Semitic, Livingstone") == []


def test_speaker_questions_need_the_speaker() -> None:
    assert asked_speaker("What did Vladimir Putin say about the Israeli strikes?") == "Vladimir Putin"
    assert asked_speaker("According to Ryabkov, who knows?") == "Ryabkov"
    assert asked_speaker("Did Russia call Iran an ally?") is None
    assert not speaker_found("Vladimir Putin", ["Sergei Ryabkov Deputy Foreign Minister", "Levan Dzhagaryan "])
    assert speaker_found("Ryabkov", ["Sergei Ryabkov Deputy Foreign Minister"])


def test_follow_ups_get_the_previous_question() -> None:
    history = [("Did Russia call Iran an ally?", "Both sides.")]
    assert contextualize("What did the ambassador say?", history).endswith("(follow-up to: Did Russia call Iran an ally?)")
    assert contextualize("How far from the Israeli border has Russia moved Iranian forces?", history).startswith("How far")
    assert contextualize("What did he say?", None) == "What did he say?"


def test_a_statement_with_unbalanced_quotation_marks_still_counts_as_the_speakers() -> None:
    """BBC text where a quotation is never closed: attribution gives the paragraph to the previous speaker,
    but "said Hewitt" beside the words is enough not to refuse "What did Hewitt say?" before the model."""
    text = ('The Swede beat Enqvist. "I felt like I had chances. "I felt that was the key." Hewitt played down his defeat. '
            '"You look at the big picture," said Hewitt.')
    article = Article.create(title="Hewitt falls to Dent", text=text)
    evidence = [Evidence(1, article, s, 0.6, speaker="Joachim Johansson") for s in sentences_of(article.id, text)]
    assert speech_by("Lleyton Hewitt", text) and not speech_by("Steve Jobs", text)

    def before_model(question: str) -> str | None:
        case = Case(profile_of(question), tuple(evidence), 0.3, text, ("Joachim Johansson",))
        return Policy().run("retrieved", case).refusal

    assert before_model("What did Hewitt say about his defeat?") is None
    assert before_model("What did Enqvist say about it?") == "The briefings quote no statement by Enqvist."
