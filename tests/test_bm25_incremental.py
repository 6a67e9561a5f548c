"""Incremental BM25 (main + delta + tombstones, change log) and the indexer paths that avoid reading the whole index."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from index.bm25 import BM25Index, fingerprint, load_or_build, refingerprint
from index.embed import HashEmbedder
from index.pipeline import Indexer, load_bm25
from qa.service import open_indexer
from index.records import Chunk
from core.settings import Settings
from index.store import MemoryStore

WORDS = (
    "minister talks oil prices russia iran syria alliance sanctions election parliament court ruling budget "
    "tax health hospital school strike union football cup final weather storm flood energy gas nuclear deal "
    "border trade export market bank rate inflation police arrest protest vote senate treaty summit"
).split()


def corpus(n: int, seed: int = 0, prefix: str = "a") -> list[Chunk]:
    """``n`` one-chunk articles of 8-40 words drawn (Zipf-like) from WORDS."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(WORDS))]
    out = []
    for i in range(n):
        text = " ".join(rng.choices(WORDS, weights, k=rng.randint(8, 40)))
        out.append(Chunk(f"{prefix}{i}:c0", f"{prefix}{i}", 0, len(text), text))
    return out


QUERIES = ["oil prices and sanctions", "nuclear deal with iran", "football cup final", "bank rate inflation", "storm flood weather",
           "senate vote on the treaty", "police arrest at protest", "hospital strike union", "russia syria alliance", "border trade export"]


def test_a_delta_scores_exactly_as_a_fresh_build() -> None:
    chunks = corpus(300)
    fresh, delta_only = BM25Index.build(chunks), BM25Index.build([]).updated(chunks)
    for q in QUERIES:
        a, b = fresh.search(q, 20), delta_only.search(q, 20)
        assert [c for c, _ in a] == [c for c, _ in b]
        assert np.allclose([s for _, s in a], [s for _, s in b], rtol=1e-5)


def test_main_plus_delta_ranks_like_a_rebuild() -> None:
    chunks = corpus(1000)
    incremental = BM25Index.build(chunks[:900]).updated(chunks[900:])
    rebuilt = BM25Index.build(chunks)
    overlap = [len({c for c, _ in incremental.search(q, 10)} & {c for c, _ in rebuilt.search(q, 10)}) / 10 for q in QUERIES]
    assert np.mean(overlap) >= 0.9
    assert sorted(incremental.ids) == sorted(rebuilt.ids)


def test_removed_articles_never_come_back_from_main_or_delta() -> None:
    chunks = corpus(200)
    index = BM25Index.build(chunks[:150]).updated(chunks[150:])
    gone = {f"a{i}" for i in range(0, 200, 3)}  # in main and in the delta
    index = index.updated(removed=gone)
    assert sorted(index.ids) == sorted(c.id for c in chunks if c.article_id not in gone)
    assert index.pending == (150, 200 - 150 - len([i for i in range(150, 200, 3)]), len([i for i in range(0, 150, 3)]))
    for q in QUERIES:
        assert not {c.partition(":")[0] for c, _ in index.search(q, 200)} & gone


def test_merge_is_due_past_the_ratio() -> None:
    index = BM25Index.build(corpus(100))
    assert not index.updated(corpus(10, seed=1, prefix="b")).needs_merge(0.10)
    assert index.updated(corpus(11, seed=1, prefix="b")).needs_merge(0.10)
    assert index.updated(removed=[f"a{i}" for i in range(11)]).needs_merge(0.10)


def test_fingerprint_is_updated_from_the_change_alone() -> None:
    rng = random.Random(3)
    ids: set[str] = set()
    fp = fingerprint(ids)
    for _ in range(200):
        if ids and rng.random() < 0.4:
            gone = rng.sample(sorted(ids), rng.randint(1, min(3, len(ids))))
            ids -= set(gone)
            fp = refingerprint(fp, [], gone)
        else:
            new = {f"{rng.getrandbits(64):016x}" for _ in range(rng.randint(1, 4))} - ids
            ids |= new
            fp = refingerprint(fp, new, [])
        assert fp == fingerprint(sorted(ids, reverse=True))
    assert fingerprint(["a", "b"]) != fingerprint(["a"]) != fingerprint([])


def test_updated_derives_the_fingerprint_of_the_new_article_set() -> None:
    chunks = corpus(50)
    index = BM25Index.build(chunks, fingerprint(c.article_id for c in chunks))
    index = index.updated(corpus(5, seed=9, prefix="n"), removed=["a1", "a2"])
    assert index.fingerprint == fingerprint([c.article_id for c in chunks if c.article_id not in {"a1", "a2"}] + [f"n{i}" for i in range(5)])


def test_the_change_log_is_replayed_on_load(tmp_path: Path) -> None:
    chunks = corpus(120)
    index = BM25Index.build(chunks[:100], fingerprint(c.article_id for c in chunks[:100]))
    index.save(tmp_path / "bm25")
    index = index.updated(chunks[100:110], directory=tmp_path / "bm25")
    index = index.updated(chunks[110:], removed=["a3", "a105"], directory=tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.fingerprint == index.fingerprint and loaded.ids == index.ids
    assert all(loaded.search(q, 10) == index.search(q, 10) for q in QUERIES)
    assert len((tmp_path / "bm25" / "delta.jsonl").read_text().splitlines()) == 2
    # saving again folds the delta into the new directory's log; loading gives the same index
    index.save(tmp_path / "again")
    again = BM25Index.load(tmp_path / "again")
    assert again.ids == index.ids and all(again.search(q, 10) == index.search(q, 10) for q in QUERIES)


@pytest.mark.parametrize("damage", ["torn", "foreign"])
def test_a_torn_or_foreign_log_line_ends_the_replay_and_the_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    chunks = corpus(60)
    before = fingerprint(c.article_id for c in chunks[:50])
    index = BM25Index.build(chunks[:50], before)
    index.save(tmp_path / "bm25")
    index = index.updated(chunks[50:55], directory=tmp_path / "bm25")
    after = refingerprint(index.fingerprint, [c.article_id for c in chunks[55:]], [])
    log = tmp_path / "bm25" / "delta.jsonl"
    if damage == "torn":
        line = json.dumps({"generation": index.generation, "fingerprint": after, "remove": [], "add": [[c.id, ["x"]] for c in chunks[55:]]})
        log.write_text(log.read_text() + line[: len(line) // 2])
    else:
        log.write_text(log.read_text() + json.dumps({"generation": "other", "fingerprint": after, "remove": [], "add": []}) + "\n")
    assert BM25Index.load(tmp_path / "bm25").fingerprint == index.fingerprint  # replay stopped before the bad line
    calls = []
    rebuilt = load_or_build(tmp_path / "bm25", after, lambda: calls.append(1) or chunks)
    assert calls == [1] and sorted(rebuilt.ids) == sorted(c.id for c in chunks)


def test_an_index_of_the_older_format_is_rebuilt(tmp_path: Path) -> None:
    old = tmp_path / "bm25"
    old.mkdir()
    (old / "ids.json").write_text(json.dumps({"fingerprint": "0" * 64, "ids": ["a0:c0"]}))
    chunks = corpus(5)
    index = load_or_build(old, fingerprint(c.article_id for c in chunks), lambda: chunks)
    assert sorted(index.ids) == sorted(c.id for c in chunks) and (old / "main.json").exists()


# ----- the indexer ---------------------------------------------------------------------------------


class SpyStore(MemoryStore):
    """Counts the whole-index reads."""

    def __init__(self) -> None:
        super().__init__()
        self.full_reads: list[str] = []
        self.repairs = 0

    def articles(self):  # noqa: ANN201
        self.full_reads.append("articles")
        return super().articles()

    def chunks(self):  # noqa: ANN201
        self.full_reads.append("chunks")
        return super().chunks()

    def paths(self, only=None):  # noqa: ANN001, ANN201
        if only is None:
            self.full_reads.append("paths")
        return super().paths(only)

    def repair(self) -> int:
        self.repairs += 1
        return super().repair()


def write_articles(directory: Path, n: int, seed: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for c in corpus(n, seed, prefix=f"s{seed}-"):
        body = ". ".join(c.text.capitalize() for _ in range(2)) + "."
        (directory / f"{c.article_id}.txt").write_text(f"Briefing {c.article_id}\n\n{body}\n", encoding="utf-8")
    return directory


def test_adding_a_few_articles_updates_bm25_without_reading_the_index(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    store = SpyStore()
    ix = Indexer(settings, store=store, embedder=HashEmbedder())
    ix.add([write_articles(tmp_path / "first", 60, seed=1)])
    main_meta = (settings.bm25_dir / "main.json").read_text()
    store.full_reads.clear()
    results = ix.add([write_articles(tmp_path / "second", 3, seed=2)])
    assert [r.status for r in results] == ["added"] * 3
    assert store.full_reads == []  # no listing of articles or chunks: metadata lookups and the BM25 delta only
    assert (settings.bm25_dir / "main.json").read_text() == main_meta  # main was not rebuilt
    assert len((settings.bm25_dir / "delta.jsonl").read_text().splitlines()) == 1
    assert ix.bm25.pending == (60, 3, 0)
    # a restart loads main + log and agrees with the store
    restarted = load_bm25(settings, store)
    assert sorted(restarted.ids) == sorted(c.id for c in store.chunks()) and restarted.fingerprint == ix.bm25.fingerprint
    # re-adding is still a no-op, found by id without a listing
    store.full_reads.clear()
    assert {r.status for r in ix.add([tmp_path / "second"])} == {"unchanged"} and store.full_reads == []


def test_a_changed_file_replaces_its_older_version_in_bm25(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    store = SpyStore()
    ix = Indexer(settings, store=store, embedder=HashEmbedder())
    ix.add([write_articles(tmp_path / "a", 40, seed=1)])
    target = sorted((tmp_path / "a").iterdir())[0]
    target.write_text("Briefing changed\n\nA wholly new text about the zeppelin summit.\n", encoding="utf-8")
    old_id = store.paths([str(target)])[str(target)]
    (result,) = ix.add([target])
    assert result.status == "added" and old_id in result.reason
    assert ix.bm25.pending[1:] == (1, 1)  # one chunk in the delta, the old version's chunk tombstoned
    assert [c for c, _ in ix.bm25.search("zeppelin", 5)] == [f"{result.article_id}:c0"]
    assert sorted(ix.bm25.ids) == sorted(c.id for c in store.chunks())


def test_bm25_is_rebuilt_once_the_delta_outgrows_the_ratio(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", bm25_merge_ratio=0.10)
    ix = Indexer(settings, store=MemoryStore(), embedder=HashEmbedder())
    ix.add([write_articles(tmp_path / "a", 50, seed=1)])
    ix.add([write_articles(tmp_path / "b", 4, seed=2)])
    assert ix.bm25.pending == (50, 4, 0)
    ix.add([write_articles(tmp_path / "c", 4, seed=3)])  # 8 > 10% of 50: merged
    assert ix.bm25.pending == (58, 0, 0) and not (settings.bm25_dir / "delta.jsonl").exists()
    ix.remove(sorted(ix.store.article_ids())[0])
    assert ix.bm25.pending == (58, 0, 1)


def test_opening_repairs_an_interrupted_write_from_its_journal_not_the_whole_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    store = SpyStore()
    ix = Indexer(settings, store=store, embedder=HashEmbedder())
    assert store.repairs == 1  # a data dir never marked: the full repair, once
    ix.add([write_articles(tmp_path / "a", 5, seed=1)])
    Indexer(settings, store=store, embedder=HashEmbedder())
    assert store.repairs == 1

    def crash_before_the_records(items):  # noqa: ANN001, ANN202 - chunks written, article records not
        for _, chunks, vectors, _ in items:
            for chunk, vec in zip(chunks, vectors):
                store._chunks[chunk.id] = (chunk, vec)
        raise RuntimeError("killed")

    monkeypatch.setattr(store, "add_many", crash_before_the_records)
    with pytest.raises(RuntimeError):
        ix.add([write_articles(tmp_path / "b", 2, seed=2)])
    monkeypatch.undo()
    ix.add([write_articles(tmp_path / "c", 1, seed=3)])  # a later success in the same process keeps the journal
    assert len({c.article_id for c in store.chunks()} - set(store.article_ids())) == 2
    assert (settings.data_dir / ".index-writing").exists()
    Indexer(settings, store=store, embedder=HashEmbedder())
    assert store.repairs == 1  # no full repair: the journal named the articles to check
    assert {c.article_id for c in store.chunks()} == set(store.article_ids()) and len(store.article_ids()) == 6
    assert not (settings.data_dir / ".index-writing").exists()


def test_a_whole_article_id_is_resolved_without_listing_the_index(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    store = SpyStore()
    ix = Indexer(settings, store=store, embedder=HashEmbedder())
    ix.add([write_articles(tmp_path / "a", 3, seed=1)])
    aid = sorted(store.article_ids())[0]
    assert ix.resolve(aid).article.id == aid and ix.resolve(aid[:6]).article.id == aid


def test_on_chroma_a_restart_replays_adds_and_removes_without_a_rebuild(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    ix = open_indexer(settings)
    ix.add([write_articles(tmp_path / "a", 30, seed=1)])
    main_meta = (settings.bm25_dir / "main.json").read_text()
    ix.add([write_articles(tmp_path / "b", 2, seed=2)])
    ix.remove(sorted(ix.store.article_ids())[0])
    assert len((settings.bm25_dir / "delta.jsonl").read_text().splitlines()) == 2
    restarted = load_bm25(settings, ix.store)
    assert (settings.bm25_dir / "main.json").read_text() == main_meta  # loaded, not rebuilt
    assert restarted.fingerprint == fingerprint(ix.store.article_ids())
    assert sorted(restarted.ids) == sorted(c.id for c in ix.store.chunks())
