"""Adapter: the ``Store`` protocol on Chroma (embedded ``PersistentClient``).

Three collections, all with our own vectors (Chroma's default embedding function would try
to download a model): ``articles`` (document = cleaned text; vector = mean of its chunks),
``chunks`` and ``sentences``. The article record is written last and deleted first.

>>> import tempfile
>>> store = ChromaStore.open(Path(tempfile.mkdtemp()), embedder_name="hash-384")
>>> store.articles(), store.query(np.ones(384, np.float32), k=3)
([], [])
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from index.errors import BriefQAError
from index.records import Article, Chunk, Sentence
from index.store import StoredArticle

_SPACE = {"hnsw": {"space": "cosine"}}


class ChromaStore:
    """Chroma-backed store; see ``index.store.Store`` for the contract."""

    def __init__(self, client, embedder_name: str) -> None:  # noqa: ANN001 - a chromadb ClientAPI
        self._client = client
        meta = {"embedder": embedder_name}
        self._articles = client.get_or_create_collection("articles", configuration=_SPACE, metadata=meta, embedding_function=None)
        found = (self._articles.metadata or {}).get("embedder")
        if found != embedder_name:
            raise BriefQAError(
                f"the index was built with the embedder {found!r}, but settings use {embedder_name!r}",
                "set BRIEFQA_EMBEDDER back, or index into another --data-dir",
            )
        self._chunks = client.get_or_create_collection("chunks", configuration=_SPACE, metadata=meta, embedding_function=None)
        self._sentences = client.get_or_create_collection("sentences", configuration=_SPACE, metadata=meta, embedding_function=None)
        self._batch = max(1, int(client.get_max_batch_size()))

    @classmethod
    def open(cls, path: Path, embedder_name: str) -> ChromaStore:
        """Open (or create) the embedded store under ``path``."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        return cls(client, embedder_name)

    def add(
        self, entry: StoredArticle, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, sentence_vectors: np.ndarray
    ) -> None:
        aid = entry.article.id
        for lo in range(0, len(chunks), self._batch):
            part = chunks[lo : lo + self._batch]
            self._chunks.upsert(
                ids=[c.id for c in part],
                embeddings=chunk_vectors[lo : lo + self._batch],
                documents=[c.text for c in part],
                metadatas=[{"article_id": aid, "start": c.start, "end": c.end, "sentences": json.dumps(c.sentence_ids)} for c in part],
            )
        sents = entry.sentences
        for lo in range(0, len(sents), self._batch):
            part = sents[lo : lo + self._batch]
            self._sentences.upsert(
                ids=[s.id for s in part],
                embeddings=sentence_vectors[lo : lo + self._batch],
                metadatas=[{"article_id": aid} for _ in part],
            )
        centroid = chunk_vectors.mean(axis=0)
        centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        self._articles.upsert(ids=[aid], embeddings=[centroid], documents=[entry.article.text], metadatas=[_article_meta(entry)])

    def remove(self, article_id: str) -> int:
        self._articles.delete(ids=[article_id])
        found = self._chunks.get(where={"article_id": article_id}, include=[])["ids"]
        self._chunks.delete(where={"article_id": article_id})
        self._sentences.delete(where={"article_id": article_id})
        return len(found)

    def get(self, article_id: str) -> StoredArticle | None:
        got = self._articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _stored_article(got["ids"][0], got["documents"][0], got["metadatas"][0])

    def articles(self) -> list[StoredArticle]:
        got = self._articles.get(include=["documents", "metadatas"])
        return [_stored_article(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def article_ids(self) -> list[str]:
        return list(self._articles.get(include=[])["ids"])

    def chunks(self) -> list[Chunk]:
        return list(self._iter_chunks())

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        got = self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        by_id = {i: _chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return [by_id[c] for c in chunk_ids if c in by_id]

    def query(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        n = min(k, self._chunks.count())
        if n == 0:
            return []
        got = self._chunks.query(query_embeddings=[np.asarray(vector, np.float32)], n_results=n, include=["documents", "metadatas", "distances"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        return [(_chunk(i, d, m), 1.0 - float(dist)) for i, d, m, dist in rows]

    def sentence_vectors(self, sentence_ids: Sequence[str]) -> np.ndarray:
        if not sentence_ids:
            return np.zeros((0, 0), np.float32)
        got = self._sentences.get(ids=list(sentence_ids), include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"]))
        return np.stack([np.asarray(by_id[s], np.float32) for s in sentence_ids])

    def repair(self) -> int:
        listed = set(self.article_ids())
        orphans = {c.article_id for c in self._iter_chunks()} - listed
        sent_meta = self._sentences.get(include=["metadatas"])["metadatas"]
        orphans |= {m["article_id"] for m in sent_meta} - listed
        for aid in orphans:
            self.remove(aid)
        return len(orphans)

    def _iter_chunks(self) -> Iterator[Chunk]:
        total = self._chunks.count()
        for offset in range(0, total, self._batch):
            got = self._chunks.get(include=["documents", "metadatas"], limit=self._batch, offset=offset)
            yield from (_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"]))


def _article_meta(entry: StoredArticle) -> dict[str, str | int]:
    a = entry.article
    meta: dict[str, str | int] = {
        "title": a.title,
        "sha256": a.sha256,
        "chunks": entry.chunks,
        "captions": json.dumps(a.captions),
        "sentences": json.dumps([[s.start, s.end] for s in entry.sentences]),
    }
    for key in ("source", "url", "published", "path"):
        value = getattr(a, key)
        if value:
            meta[key] = value
    return meta


def _stored_article(aid: str, text: str, meta: dict) -> StoredArticle:  # noqa: ANN001 - chroma metadata
    article = Article(
        id=aid,
        title=meta["title"],
        text=text,
        sha256=meta["sha256"],
        source=meta.get("source"),
        url=meta.get("url"),
        published=meta.get("published"),
        path=meta.get("path"),
        captions=tuple(json.loads(meta.get("captions", "[]"))),
    )
    spans = json.loads(meta["sentences"])
    sentences = tuple(Sentence(aid, i, s, e) for i, (s, e) in enumerate(spans))
    return StoredArticle(article, sentences, int(meta["chunks"]))


def _chunk(cid: str, text: str, meta: dict) -> Chunk:  # noqa: ANN001 - chroma metadata
    return Chunk(cid, meta["article_id"], int(meta["start"]), int(meta["end"]), text, tuple(json.loads(meta["sentences"])))
