"""Rule-based speaker attribution (qa.speaker) on the sample briefing, BBC articles and synthetic text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.records import Sentence
from index.sentences import sentences_of
from qa.speaker import Speaker, attribute

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "briefings" / "russia-iran-not-allies-in-syria.txt"
BBC = Path("/work/shared/corpora/bbc-news/news")

RYABKOV, DZHAGARYAN, FALAHATPISHEH = "Sergei Ryabkov", "Levan Dzhagaryan", "Heshmatollah Falahatpisheh"


def speakers(text: str) -> list[Speaker | None]:
    return attribute(text, sentences_of("a", text))


def names(text: str) -> list[str | None]:
    return [s.name if s else None for s in speakers(text)]


def by_prefix(text: str) -> dict[str, Speaker | None]:
    """Sentence text -> speaker, so tests can look sentences up by their opening words."""
    sents = sentences_of("a", text)
    return {text[s.start : s.end]: sp for s, sp in zip(sents, attribute(text, sents))}


def lookup(table: dict[str, Speaker | None], prefix: str) -> Speaker | None:
    (hit,) = [sp for sent, sp in table.items() if sent.startswith(prefix)]
    return hit


@pytest.fixture(scope="module")
def sample() -> dict[str, Speaker | None]:
    raw = SAMPLE.read_text(encoding="utf-8")
    return by_prefix(raw[raw.index("Days after") :].strip())


@pytest.mark.parametrize(
    ("prefix", "name", "kind"),
    [
        ("Days after sustained", RYABKOV, "reported"),
        ("He stressed that Russia", RYABKOV, "reported"),
        ("Ryabkov added that Russia was against", RYABKOV, "reported"),
        ("During an interview with CNN", RYABKOV, "direct"),
        ("Ryabkov added that Iran was also aware", RYABKOV, "reported"),
        ('"The Israelis know this', RYABKOV, "direct"),
        ("Ryabkov's denial", None, None),
        ("Dzhagaryan said", DZHAGARYAN, "direct"),
        ("Dzhagaryan added that", DZHAGARYAN, "direct"),
        ("Russia is clearly sending", None, None),
        ("Ryabkov's statement on the denial", None, None),  # "spoke about"/"adding" are not attributions
        ("Falahatpisheh told the Iranian press", FALAHATPISHEH, "direct"),
        ("It is not clear why", None, None),
        ("In his interview, Ryabkov said", RYABKOV, "reported"),
        ("However, he said that", RYABKOV, "direct"),
        ("Iran and Syria have always said", None, None),  # collectives / countries are not persons
        ("Israel has acknowledged", None, None),
        ("The missile was destroyed", None, None),  # "according to Israeli forces": not a person
    ],
)
def test_sample_article(sample: dict[str, Speaker | None], prefix: str, name: str | None, kind: str | None) -> None:
    sp = lookup(sample, prefix)
    assert ((sp.name, sp.kind) if sp else (None, None)) == (name, kind)


def test_sample_roles(sample: dict[str, Speaker | None]) -> None:
    roles = {sp.name: sp.role for sp in sample.values() if sp}
    assert roles == {
        RYABKOV: "Deputy Foreign Minister",
        DZHAGARYAN: "ambassador to Tehran",
        FALAHATPISHEH: "head of the Iranian parliamentary committee for foreign relations and national security",
    }


def test_sample_putin_is_never_a_speaker(sample: dict[str, Speaker | None]) -> None:
    assert len(sample) == 24
    assert all("Putin" not in sp.name for sp in sample.values() if sp)


def test_pronouns_resolve_to_previous_speaker_or_mention() -> None:
    assert names("Jane Doe said taxes would rise. Tom Lee spoke. He added that cuts would follow.") == [
        "Jane Doe",
        None,
        "Jane Doe",
    ]
    # no speaker yet: the nearest preceding (non-possessive) person mention
    assert names("Cardinal John Smith backed Mr Howard's stance. In a statement, he said it was key.") == [
        None,
        "John Smith",
    ]
    assert names("He said nothing.") == [None]


def test_quoted_him_as_having_said_names_the_quoted_person_not_the_outlet() -> None:
    text = 'Ana Ruiz added that it was fine. "We know this," The Times quoted her as having said.'
    assert speakers(text) == [Speaker("Ana Ruiz", None, "reported"), Speaker("Ana Ruiz", None, "direct")]
    assert names('"Right," Arab News quoted Prince Saud as saying.') == ["Saud"]


def test_quote_then_attribution_and_inversion() -> None:
    assert speakers('"We will win," Mr Smith said.') == [Speaker("Smith", None, "direct")]
    assert speakers('"We will win," said Mr Smith.') == [Speaker("Smith", None, "direct")]
    assert speakers('"It is over," said John Smith, the party leader.') == [Speaker("John Smith", "party leader", "direct")]
    assert speakers('"Fine," said Hopman Cup doctor Hamish Osborne.') == [
        Speaker("Hamish Osborne", "Hopman Cup doctor", "direct")
    ]


def test_according_to() -> None:
    assert speakers("The plan will fail, according to Dr Jane Doe. It works, according to her.") == [
        Speaker("Dr Jane Doe", None, "reported"),
        Speaker("Dr Jane Doe", None, "reported"),
    ]
    assert names("The plan failed, according to a spokesman for Mr Blair.") == [None]


def test_honorifics_are_stripped_and_surnames_resolve_to_the_full_name() -> None:
    text = 'Foreign Secretary Jack Straw arrived. "We will win," Mr Straw said. Straw added that it was late.'
    role = "Foreign Secretary"
    assert speakers(text) == [None, Speaker("Jack Straw", role, "direct"), Speaker("Jack Straw", role, "reported")]
    assert names("Osama bin Laden said it. Bin Laden added more. Mr al-Assad denied it.") == [
        "Osama bin Laden",
        "Osama bin Laden",
        "al-Assad",
    ]
    assert speakers("Lord Chancellor Lord Falconer said it.") == [Speaker("Lord Falconer", "Lord Chancellor", "reported")]


def test_roles_from_appositives_and_premodifiers() -> None:
    assert speakers('Anne Weyman, chief executive of the FPA, asked: "Why?"') == [
        Speaker("Anne Weyman", "chief executive of the FPA", "direct")
    ]
    assert speakers("US Secretary of State Condoleezza Rice arrived. Ms Rice said it was fine.")[1] == Speaker(
        "Condoleezza Rice", "US Secretary of State", "reported"
    )
    text = "The Archbishop of Cardiff, the Most Reverend Peter Smith, told the BBC that it was wrong."
    assert names(text) == ["Peter Smith"]


@pytest.mark.parametrize(
    "text",
    [
        "The Family Planning Association says a reduction would hurt.",
        "Russia said it would act.",
        "Iran and Syria have said so.",
        "A spokesman for Mr Blair said the plan was sound.",
        "Mr Blair's spokesman said the plan was sound.",
        "General Motors has warned of losses.",
        "North Korea has said it will talk.",
        "Analysts say the market will fall.",
        "It is not clear why they were surprised.",
    ],
)
def test_non_persons_and_the_articles_own_voice_are_none(text: str) -> None:
    assert names(text) == [None] * len(sentences_of("a", text))


def test_a_bare_quotation_continues_the_previous_speaker() -> None:
    text = 'Mrs Robinson warned of action. "If the government does not accept this, there is redress."'
    assert speakers(text) == [Speaker("Robinson", None, "reported"), Speaker("Robinson", None, "direct")]
    # a quotation with its own (non-person) attribution does not inherit
    assert names('Mr Kim said so. "Go," said Mr Smith\'s aide.') == ["Kim", None]


@pytest.mark.skipif(not BBC.exists(), reason="BBC corpus not available")
def test_bbc_abbas() -> None:
    t = by_prefix((BBC / "politics" / "abbas-will-not-tolerate-attacks.txt").read_text(encoding="utf-8"))
    abbas = lookup(t, "Palestinian leader Mahmoud Abbas has said")
    assert abbas == Speaker("Mahmoud Abbas", "Palestinian leader", "reported")
    assert lookup(t, "The Palestinian Authority (PA) was exerting") == Speaker("Mahmoud Abbas", "Palestinian leader", "direct")
    assert lookup(t, "He added:") == Speaker("Mahmoud Abbas", "Palestinian leader", "direct")
    straw = Speaker("Jack Straw", "British foreign minister", "direct")
    assert lookup(t, "British foreign minister Jack Straw said") == straw
    assert lookup(t, "The conference was a") == straw
    assert lookup(t, '"It\'s a high-level attendance') == straw  # ..., he added.
    assert lookup(t, "A spokesman for Mr Blair said") is None
    assert lookup(t, "Tuesday's meeting") is None


@pytest.mark.skipif(not BBC.exists(), reason="BBC corpus not available")
def test_bbc_detention_ruling() -> None:
    t = by_prefix((BBC / "politics" / "act-on-detention-ruling-uk-urged.txt").read_text(encoding="utf-8"))
    assert lookup(t, "The government must act quickly") == Speaker("Mary Robinson", None, "reported")
    assert lookup(t, '"It would be very troubling') == Speaker("Mary Robinson", None, "direct")  # she said
    assert lookup(t, "Home Secretary Charles Clarke has said") == Speaker("Charles Clarke", "Home Secretary", "reported")
    assert lookup(t, "Speaking to Parliament") == Speaker("Charles Clarke", "Home Secretary", "direct")  # Mr Clarke said:
    assert lookup(t, "Mrs Robinson warned") == Speaker("Mary Robinson", None, "reported")
    assert lookup(t, '"If the government were not') == Speaker("Mary Robinson", None, "direct")  # bare quotation
    assert lookup(t, "The Law Lords said") is None


@pytest.mark.skipif(not BBC.exists(), reason="BBC corpus not available")
def test_bbc_sport_inversion() -> None:
    t = by_prefix((BBC / "sport" / "african-double-in-edinburgh.txt").read_text(encoding="utf-8"))
    assert lookup(t, '"My training has gone so well') == Speaker("Nick McCormick", None, "direct")  # ..., said McCormick
    assert sum(sp is not None for sp in t.values()) == 1


def test_long_article_keeps_attributing() -> None:
    raw = SAMPLE.read_text(encoding="utf-8")
    body = raw[raw.index("Days after") :].strip()
    text = "\n\n".join([body] * 84)  # ~2,000 sentences
    sents = sentences_of("a", text)
    assert len(sents) >= 2000
    out = attribute(text, sents)
    assert len(out) == len(sents)
    assert [s.name if s else None for s in out[-24:]] == [s.name if s else None for s in out[:24]]


WORDS = ["Mr", "Mrs", "Dr", "Sir", "said", "says", "told", "added", "he", "she", "him", "quoted", "as", "according",
         "to", "the", "The", "John", "Smith", "Ryabkov", "al-Assad", "bin", "Minister", "Foreign", ",", ".", '"', "“",
         "”", "'s", "\n", "Iran", "and", "of", "ambassador", "who", "spokesman", "for", "having", ":"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join)))
def test_never_raises_and_returns_one_entry_per_sentence(text: str) -> None:
    sents = sentences_of("a", text)
    out = attribute(text, sents)
    assert len(out) == len(sents)
    assert all(sp is None or (sp.name and sp.kind in ("direct", "reported")) for sp in out)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=8))
def test_arbitrary_spans(text: str, spans: list[tuple[int, int]]) -> None:
    sents = [Sentence("a", i, min(a, b), max(a, b)) for i, (a, b) in enumerate(spans)]
    assert len(attribute(text, sents)) == len(sents)
