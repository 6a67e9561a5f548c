"""Near-duplicates collapse per statement (never hiding a changed fact), "latest" questions prefer newer articles,
and a sentence continuing a relevant one is evidence too.

Retrieval tests use the hash embedder and an in-memory store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.dedup import Syndication, containment, fingerprint, near_duplicates, statement_key
from index.embed import HashEmbedder
from index.pipeline import Indexer
from index.records import Article, Chunk
from index.sentences import sentences_of
from core.settings import Settings
from index.store import MemoryStore
from qa.retrieve import RECENCY_BONUS, Retriever, diversify, recency_bonus, wants_latest

ROOT = Path(__file__).resolve().parents[1]
EVAL_BRIEFINGS = ROOT / "eval" / "briefings"

STORY = (
    "The new tidal flood barrier on the River Harl will open in June, council leader Maria Okafor said on Monday.\n\n"
    "The barrier, built by Dunmore Engineering, will cost £48 million and protect 3,200 homes from storm surges.\n\n"
    '"The gates are in place and testing starts next month," Ms Okafor told reporters at the town hall.\n\n'
    "Work on the barrier began in 2022 after floods in the winter of 2021 forced 600 people from their homes.\n\n"
    "The council said the final phase, the control building on Quay Street, was two weeks ahead of schedule."
)
OTHER = (
    "Lowford rowing club won the regional regatta on Saturday for the third year running.\n\n"
    "Club captain Ewan Price said the crew had trained every morning since January."
)


def article(text: str, published: str | None, title: str = "T", path: str | None = None) -> Article:
    return Article.create(title=title, text=text, published=published, path=path)


def fp(a: Article):  # noqa: ANN201
    return fingerprint(a, sentences_of(a.id, a.text))


def test_statement_keys_ignore_case_spacing_quotes_and_punctuation() -> None:
    assert statement_key("“We won’t go,”  he SAID.") == statement_key('"We won\'t go" -- he said')
    assert statement_key("It costs £48 million.") != statement_key("It costs £61 million.")
    assert statement_key("…") == ""


def test_copies_are_near_duplicates_and_other_stories_are_not() -> None:
    original = article(STORY, "2025-03-03")
    trimmed = article(STORY.rsplit("\n\n", 1)[0] + "\n\nThis article first appeared in the Harbour Times.", "2025-03-05")
    changed = article(STORY.replace("£48 million", "£61 million"), "2025-03-04")
    other = article(OTHER, "2025-03-03")
    assert near_duplicates(fp(original), fp(trimmed)) and near_duplicates(fp(original), fp(changed))
    assert not near_duplicates(fp(original), fp(other)) and containment(fp(original), fp(other)) == 0.0
    assert not near_duplicates(fp(article("Too short.", None)), fp(article("Too short. Really.", None)))


def test_the_syndicated_bbc_pair_in_the_eval_briefings_is_one_story() -> None:
    short, extended = (Path(EVAL_BRIEFINGS / n).read_text(encoding="utf-8") for n in ("bbc-hewitt-falls-to-dent.txt", "bbc-hewitt-falls-to-dent-in-adelaide.txt"))
    assert near_duplicates(fp(article(short, None)), fp(article(extended, None)))
    raskin = (EVAL_BRIEFINGS / "bbc-creator-of-first-apple-mac-dies.txt").read_text(encoding="utf-8")
    assert not near_duplicates(fp(article(short, None)), fp(article(raskin, None)))


@pytest.mark.parametrize(
    ("dates", "earliest"),
    [
        (("2025-03-05", "2025-03-03", "2025-03-04"), 1),  # by date, whatever order they are met in
        (("2025-03-05", None, "2025-03-04"), 2),  # undated after dated
    ],
)
def test_the_earliest_copy_of_a_statement_is_kept(dates: tuple[str | None, ...], earliest: int) -> None:
    copies = [article(STORY + "\n\n" + "Extra paragraph number %d." % i, d) for i, d in enumerate(dates)]
    fps = {a.id: fp(a) for a in copies}
    groups = Syndication(fps.__getitem__)
    assert len({groups.group(a.id) for a in copies}) == 1
    for a in copies:
        assert groups.canonical(a.id, 1) == (copies[earliest].id, 1)  # the shared cost sentence
        assert groups.canonical(a.id, 5) == (a.id, 5)  # each copy's own extra paragraph stays


def test_undated_copies_resolve_to_the_smaller_id() -> None:
    copies = [article(STORY + f"\n\nCopy {i}.", None) for i in range(3)]
    fps = {a.id: fp(a) for a in copies}
    groups = Syndication(fps.__getitem__)
    smallest = min(a.id for a in copies)
    assert {groups.canonical(a.id, 0)[0] for a in copies} == {smallest}


def index(where: Path, *articles: tuple[str, str | None, str], top_chunks: int = 4) -> Retriever:
    """Index ``(text, published, title)`` articles through the real pipeline (files with front matter)."""
    files = where / "files"
    files.mkdir()
    for text, published, title in articles:
        (files / f"{title}.txt").write_text(f"Title: {title}\nPublished: {published or ''}\n\n{text}", encoding="utf-8")
    ix = Indexer(Settings(data_dir=where / "data", embedder="hash"), store=MemoryStore(), embedder=HashEmbedder())
    assert {r.status for r in ix.add([files])} == {"added"}
    return Retriever(ix.store, ix.embedder, ix.bm25, top_chunks=top_chunks, per_article=1, evidence=8)


@pytest.fixture
def syndicated(tmp_path: Path) -> Retriever:
    copy = STORY + "\n\nThis article first appeared in the Harbour Times."
    changed = STORY.replace("£48 million", "£61 million")
    return index(tmp_path, (copy, "5 March 2025", "copy"), (STORY, "3 March 2025", "original"), (changed, "4 March 2025", "changed"), (OTHER, None, "other"))


def test_one_statement_is_quoted_once_from_the_earliest_copy(syndicated: Retriever) -> None:
    evidence = syndicated.retrieve("Who built the Harwick flood barrier and what will it cost?").evidence
    keys = [statement_key(e.text) for e in evidence]
    assert len(keys) == len(set(keys))
    okafor = [e for e in evidence if "will open in June" in e.text]
    assert len(okafor) == 1 and okafor[0].article.title == "original"


def test_a_changed_fact_in_a_copy_is_not_hidden(syndicated: Retriever) -> None:
    evidence = syndicated.retrieve("How much will the flood barrier built by Dunmore Engineering cost?").evidence
    costs = {e.article.title: e.text for e in evidence if "will cost" in e.text}
    assert "£48 million" in costs["original"] and "£61 million" in costs["changed"]
    assert "copy" not in costs  # its cost sentence is the original's statement


def test_copies_do_not_take_the_slots_of_other_articles(tmp_path: Path) -> None:
    copy = STORY + "\n\nThis article first appeared in the Harbour Times."
    other = "The River Harl flood barrier will not open in June, the chief inspector of the rivers authority said."
    r = index(tmp_path, (copy, "5 March 2025", "copy"), (STORY, "3 March 2025", "original"), (other, None, "other"), top_chunks=2)
    passages = r.retrieve("What did council leader Maria Okafor say about when the flood barrier will open?").passages
    assert [r.article(p.chunk.article_id)[0].article.title for p in passages][1:] == ["other"]  # one slot for the story


def test_an_unrelated_article_does_not_take_a_slot_from_a_relevant_one(tmp_path: Path) -> None:
    more = "\n\n".join(f"Harwick council said flood barrier gate number {i} on the River Harl passed its test." for i in range(1, 9))
    r = index(tmp_path, (STORY + "\n\n" + more, "3 March 2025", "barrier"), (OTHER, None, "rowing"), top_chunks=2)
    passages = r.retrieve("When will the River Harl flood barrier built by Dunmore Engineering open?").passages
    assert [r.article(p.chunk.article_id)[0].article.title for p in passages] == ["barrier", "barrier"]


def test_diversify_counts_a_group_once_and_skips_repeated_chunks() -> None:
    a, b, c = article(STORY, "2025-03-03", "a"), article(STORY + "\n\nCopy.", "2025-03-04", "b"), article(OTHER, None, "c")
    fps = {x.id: fp(x) for x in (a, b, c)}
    ranked = [(Chunk(f"{x.id}:{ids}", x.id, 0, 1, "", ids), 1.0) for x, ids in [(a, (0, 1)), (b, (0, 1)), (b, (2, 3)), (c, (0, 1))]]
    plain = [ch.id for ch, _ in diversify(ranked, 3, 1)]
    grouped = [ch.id for ch, _ in diversify(ranked, 3, 1, Syndication(fps.__getitem__))]
    assert plain == [f"{a.id}:(0, 1)", f"{b.id}:(0, 1)", f"{c.id}:(0, 1)"]
    assert grouped == [f"{a.id}:(0, 1)", f"{c.id}:(0, 1)", f"{b.id}:(2, 3)"]  # b's repeat skipped, its new sentences kept


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        ("What is the latest cost estimate?", True),
        ("When is the barrier now expected to open?", True),
        ("What is the most recent figure?", True),
        ("Is the plant still open?", True),
        ("What is the current cost?", True),
        ("When did they last meet?", True),
        ("How much will the barrier cost?", False),
        ("Who won last year?", False),
        ("What did he say last Monday?", False),
    ],
)
def test_latest_questions_are_recognised(question: str, latest: bool) -> None:
    assert wants_latest(question) is latest


def test_recency_bonus_ranks_by_distinct_dates() -> None:
    assert recency_bonus({"a": "2025-01-01", "b": "2025-02-01", "c": "2025-03-01"}) == {"a": 0.0, "b": RECENCY_BONUS / 2, "c": RECENCY_BONUS}
    assert recency_bonus({"a": "2025-01-01", "b": None}) == {"a": 0.0, "b": 0.0}


OLD = "Harwick council said the flood barrier will cost £48 million to build.\n\nThe council met on Monday."
NEW = "Harwick council said the flood barrier will now cost £61 million to build.\n\nThe council met on Tuesday."


def test_latest_questions_prefer_the_newer_article_and_others_ignore_dates(tmp_path: Path) -> None:
    dated = {"new-is-newer": ("3 March 2025", "15 April 2025"), "old-is-newer": ("15 April 2025", "3 March 2025")}
    order: dict[str, dict[str, list[str]]] = {}
    for name, (old_date, new_date) in dated.items():
        (tmp_path / name).mkdir()
        r = index(tmp_path / name, (OLD, old_date, "old"), (NEW, new_date, "new"))
        order[name] = {
            q: [e.article.title for e in r.retrieve(q).evidence if "cost" in e.text]
            for q in ("What is the latest cost of the Harwick flood barrier?", "How much will the Harwick flood barrier cost to build?")
        }
    latest, plain = order["new-is-newer"], order["old-is-newer"]
    assert latest["What is the latest cost of the Harwick flood barrier?"] == ["new", "old"]
    assert plain["What is the latest cost of the Harwick flood barrier?"] == ["old", "new"]
    assert latest["How much will the Harwick flood barrier cost to build?"] == plain["How much will the Harwick flood barrier cost to build?"]


def test_a_sentence_continuing_a_relevant_one_is_evidence(tmp_path: Path) -> None:
    text = "\n\n".join(
        ["Honda said its humanoid robot Asimo can now run.", "At 3km/h, it is closer to a leisurely jog."]
        + [f"The Asimo robot by Honda visited city number {i} on its humanoid tour." for i in range(6)]
    )
    r = index(tmp_path, (text, None, "asimo"))
    r.evidence = 2
    assert [e.text for e in r.retrieve("How fast can Honda's humanoid robot Asimo run?").evidence] == [
        "Honda said its humanoid robot Asimo can now run.",
        "At 3km/h, it is closer to a leisurely jog.",
    ]
