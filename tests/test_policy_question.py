"""qa.question: one profile per question, read by every rule (yes/no, names, numbers, speaker, latest, counted noun)."""

from __future__ import annotations

from qa.question import QuestionProfile, profile_of
from qa.stance import predicate_terms


def test_a_profile_holds_what_the_rules_read() -> None:
    p = profile_of("How many homes did Vladimir Putin say were hit in 2018, according to Ryabkov?")
    assert isinstance(p, QuestionProfile)
    assert (p.yes_no, p.names, p.numbers, p.counted, p.counted_token) == (False, ("Vladimir Putin", "Ryabkov"), ("2018",), "homes", "home")
    assert p.speaker == "Ryabkov" and not p.latest
    yes_no = profile_of("Is the bridge still closed after Storm Ciara?")
    assert yes_no.yes_no and yes_no.latest and yes_no.names == ("Storm Ciara",) and yes_no.speaker is None


def test_a_question_is_profiled_once() -> None:
    assert profile_of("Did Russia call Iran an ally?") is profile_of("Did Russia call Iran an ally?")


def test_the_stance_rules_take_the_names_from_the_profile() -> None:
    assert predicate_terms("Did Russia call Iran an ally?") == {"alli"}
    assert "tom" not in predicate_terms("Did Tom Reyes resign from the board?")
