"""Adapter: the ``Store`` protocol on Chroma: embedded (``PersistentClient``) or a server (``HttpClient``).

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from core.errors import BriefQAError
from index.filters import Filters, filter_meta, matches_meta
from index.records import Article, Chunk, Sentence
from index.store import StoredArticle

_SPACE = {"hnsw": {"space": "cosine"}}
# articles and sentences are read by id, never searched by vector: a minimal HNSW graph makes inserts ~3x cheaper
# (and flat as the collection grows); applies to collections created from now on
_LOOKUP_ONLY = {"hnsw": {"space": "cosine", "ef_construction": 8, "max_neighbors": 4}}
_FILTER_FIELDS = "filter_fields"  # on the chunks collection: every record has the fields filters read (index.filters)


class ChromaStore:
    """Chroma-backed store; see ``index.store.Store`` for the contract."""

    def __init__(self, client, embedder_name: str, url: str = "") -> None:  # noqa: ANN001 - a chromadb ClientAPI
        self._client = client
        self.url = url  # the server's, or "" for the embedded store
        meta = {"embedder": embedder_name}
        self._articles = client.get_or_create_collection("articles", configuration=_LOOKUP_ONLY, metadata=meta, embedding_function=None)
        found = (self._articles.metadata or {}).get("embedder")
        if found != embedder_name:
            raise BriefQAError(
                f"the index was built with the embedder {found!r}, but settings use {embedder_name!r}",
                "set BRIEFQA_EMBEDDER back, or index into another --data-dir",
            )
        self._chunks = client.get_or_create_collection("chunks", configuration=_SPACE, metadata=meta, embedding_function=None)
        self._sentences = client.get_or_create_collection("sentences", configuration=_LOOKUP_ONLY, metadata=meta, embedding_function=None)
        self._batch = max(1, int(client.get_max_batch_size()))
        if _FILTER_FIELDS not in (self._chunks.metadata or {}) and not self._chunks.count():
            self._mark_filter_fields()

    @classmethod
    def connect(cls, url: str, embedder_name: str, *, timeout_s: float = 10.0) -> ChromaStore:
        """Use the Chroma server at ``url`` (e.g. ``http://127.0.0.1:8000``, from ``chroma run``).

        Every request is bounded by ``timeout_s``: a server that is down, or stops answering, is a
        ``BriefQAError`` naming the URL, never a hang.
        """
        import urllib.parse

        import chromadb
        import httpx
        from chromadb.config import Settings as ChromaSettings

        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 8000)
        except ValueError:
            port = 0
        if parts.scheme not in ("http", "https") or not parts.hostname or not port:
            raise BriefQAError(f"invalid Chroma server URL {url!r}", "set BRIEFQA_CHROMA_URL to http://HOST:PORT, e.g. http://127.0.0.1:8000")
        try:  # chromadb's HTTP client has no timeout and sends its first request while being built: check first
            httpx.get(f"{parts.scheme}://{parts.netloc}/api/v2/heartbeat", timeout=timeout_s).raise_for_status()
            client = chromadb.HttpClient(
                host=parts.hostname, port=port, ssl=parts.scheme == "https", settings=ChromaSettings(anonymized_telemetry=False)
            )
        except (httpx.HTTPError, ValueError) as err:  # chromadb says ValueError("Could not connect to a Chroma server")
            raise _unreachable(url, err, timeout_s) from None
        client._server._session.timeout = httpx.Timeout(timeout_s)  # noqa: SLF001 - chromadb has no setting for it
        return cls(_Remote(client, url, timeout_s), embedder_name, url)

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
        self.add_many([(entry, chunks, chunk_vectors, sentence_vectors)])

    def add_many(self, items: Sequence[tuple[StoredArticle, Sequence[Chunk], np.ndarray, np.ndarray]]) -> None:
        """Several articles in few upserts (each round trip costs ~20 ms): all chunks, all sentences, then the records."""
        if not items:
            return
        chunks = [c for _, cs, _, _ in items for c in cs]
        owners = {e.article.id: e.article for e, _, _, _ in items}
        chunk_vecs = np.concatenate([np.asarray(cv, np.float32) for _, _, cv, _ in items])
        for lo in range(0, len(chunks), self._batch):
            part = chunks[lo : lo + self._batch]
            self._chunks.upsert(
                ids=[c.id for c in part],
                embeddings=chunk_vecs[lo : lo + self._batch],
                documents=[c.text for c in part],
                metadatas=[_chunk_meta(c, owners[c.article_id]) for c in part],
            )
        sents = [s for e, _, _, _ in items for s in e.sentences]
        sent_vecs = np.concatenate([np.asarray(sv, np.float32) for _, _, _, sv in items])
        for lo in range(0, len(sents), self._batch):
            part = sents[lo : lo + self._batch]
            self._sentences.upsert(
                ids=[s.id for s in part], embeddings=sent_vecs[lo : lo + self._batch], metadatas=[{"article_id": s.article_id} for s in part]
            )
        centroids = np.stack([np.asarray(cv, np.float32).mean(axis=0) for _, _, cv, _ in items])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        for lo in range(0, len(items), self._batch):
            part = items[lo : lo + self._batch]
            self._articles.upsert(
                ids=[e.article.id for e, _, _, _ in part],
                embeddings=centroids[lo : lo + self._batch],
                documents=[e.article.text for e, _, _, _ in part],
                metadatas=[_article_meta(e) for e, _, _, _ in part],
            )

    def paths(self, only: Iterable[str] | None = None) -> dict[str, str]:
        """``{path: article_id}`` from the article metadata (texts are not read); only ``only``'s paths if given."""
        if only is None:
            return {m["path"]: i for got in self._paged(self._articles, ["metadatas"]) for i, m in zip(got["ids"], got["metadatas"]) if m.get("path")}
        wanted, found = sorted(set(only)), {}
        for lo in range(0, len(wanted), 500):
            got = self._articles.get(where={"path": {"$in": wanted[lo : lo + 500]}}, include=["metadatas"])
            found.update({m["path"]: i for i, m in zip(got["ids"], got["metadatas"])})
        return found

    def existing(self, article_ids: Iterable[str]) -> set[str]:
        """The ones of ``article_ids`` that are stored (one id lookup per page, no texts)."""
        wanted, out = sorted(set(article_ids)), set()
        for lo in range(0, len(wanted), self._batch):
            out.update(self._articles.get(ids=wanted[lo : lo + self._batch], include=[])["ids"])
        return out

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
        rows = self._paged(self._articles, ["documents", "metadatas"])
        return [_stored_article(i, d, m) for got in rows for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def article_ids(self) -> list[str]:
        return [i for got in self._paged(self._articles, []) for i in got["ids"]]

    def chunks(self) -> list[Chunk]:
        return list(self._iter_chunks())

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        got = self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        by_id = {i: _chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return self._committed([by_id[c] for c in chunk_ids if c in by_id], lambda c: c)

    def chunks_of(self, article_ids: Iterable[str]) -> list[Chunk]:
        """Every chunk of ``article_ids`` (a page of ids per request)."""
        wanted, out = sorted(set(article_ids)), []
        for lo in range(0, len(wanted), 500):
            where = {"article_id": {"$in": wanted[lo : lo + 500]}}
            out.extend(c for got in self._paged(self._chunks, ["documents", "metadatas"], where) for c in _chunks_in(got))
        return out

    def desk_collection(self):  # noqa: ANN201 - a chromadb Collection
        """The server's small collection of desk records (``index.desk``: lease, journal, change marker)."""
        from index.desk import COLLECTION

        return self._client.get_or_create_collection(COLLECTION, configuration=_LOOKUP_ONLY, embedding_function=None)

    def _committed(self, rows: list, chunk_of: Callable) -> list:  # noqa: ANN001 - rows holding chunks
        """On a server that other processes write: only the rows whose article record exists (a writer killed mid-batch
        leaves chunks without one until the next writer purges them; the record is written last)."""
        if not self.url or not rows:
            return rows
        listed = self.existing({chunk_of(r).article_id for r in rows})
        return [r for r in rows if chunk_of(r).article_id in listed]

    def query(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        if k <= 0:
            return []
        where = filters.where() if filters and filters.active else None
        if where is not None and not self.filter_fields:  # an index from before filters: name the articles instead
            ids = sorted(self.matching(filters))  # type: ignore[arg-type]
            if not ids:
                return []
            where = {"article_id": {"$in": ids}}
        # no count() first: it costs a scan per query, and Chroma answers a short collection with fewer rows
        got = self._chunks.query(
            query_embeddings=[np.asarray(vector, np.float32)], n_results=k, where=where, include=["documents", "metadatas", "distances"]
        )
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        return self._committed([(_chunk(i, d, m), 1.0 - float(dist)) for i, d, m, dist in rows], lambda r: r[0])

    def matching(self, filters: Filters) -> set[str]:
        """The ids of the articles inside ``filters`` (from metadata alone, a page at a time)."""
        if self.filter_fields:
            where = filters.where()
            return {i for got in self._paged(self._articles, [], where) for i in got["ids"]}
        return {i for got in self._paged(self._articles, ["metadatas"]) for i, m in zip(got["ids"], got["metadatas"]) if matches_meta(m, filters)}

    @property
    def filter_fields(self) -> bool:
        """Whether every record carries the fields filters read (false for an index built before filters, until ``upgrade``)."""
        return _FILTER_FIELDS in (self._chunks.metadata or {})

    def upgrade(self) -> int:
        """Give the records of an index built before filters the fields filters read; returns the number of articles."""
        if self.filter_fields:
            return 0
        owners: dict[str, dict[str, str | int]] = {}
        for got in self._paged(self._articles, ["metadatas"]):
            owners.update({aid: filter_meta(m.get("published"), m.get("source")) for aid, m in zip(got["ids"], got["metadatas"])})
            self._add_fields(self._articles, [(aid, owners[aid]) for aid in got["ids"]])
        for got in self._paged(self._chunks, ["metadatas"]):
            self._add_fields(self._chunks, [(i, owners.get(m["article_id"], {})) for i, m in zip(got["ids"], got["metadatas"])])
        self._mark_filter_fields()
        return len(owners)

    @staticmethod
    def _add_fields(collection, rows: list[tuple[str, dict[str, str | int]]]) -> None:  # noqa: ANN001 - a chromadb Collection
        """Merge each row's fields into its record's metadata (one update for the page; rows without fields skipped)."""
        rows = [(i, extra) for i, extra in rows if extra]
        if rows:
            collection.update(ids=[i for i, _ in rows], metadatas=[extra for _, extra in rows])

    def _mark_filter_fields(self) -> None:
        self._chunks.modify(metadata={**(self._chunks.metadata or {}), _FILTER_FIELDS: 1})

    def sentence_vectors(self, sentence_ids: Sequence[str]) -> np.ndarray:
        if not sentence_ids:
            return np.zeros((0, 0), np.float32)
        got = self._sentences.get(ids=list(sentence_ids), include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"]))
        return np.stack([np.asarray(by_id[s], np.float32) for s in sentence_ids])

    def repair(self) -> int:
        listed = set(self.article_ids())
        owners = {m["article_id"] for col in (self._chunks, self._sentences) for got in self._paged(col, ["metadatas"]) for m in got["metadatas"]}
        orphans = owners - listed
        for aid in orphans:
            self.remove(aid)
        return len(orphans)

    def _iter_chunks(self) -> Iterator[Chunk]:
        for got in self._paged(self._chunks, ["documents", "metadatas"]):
            yield from _chunks_in(got)

    def _paged(self, collection, include: list[str], where: dict | None = None) -> Iterator[dict]:  # noqa: ANN001 - a chromadb Collection
        """A whole collection (the rows matching ``where``), a page at a time (one unpaged get fails past SQLite's ~32k variables)."""
        for offset in range(0, collection.count(), self._batch):
            got = collection.get(include=include, limit=self._batch, offset=offset, where=where)
            if not got["ids"]:
                return
            yield got


def _chunk_meta(chunk: Chunk, owner: Article) -> dict[str, str | int]:
    meta: dict[str, str | int] = {"article_id": chunk.article_id, "start": chunk.start, "end": chunk.end, "sentences": json.dumps(chunk.sentence_ids)}
    return {**meta, **filter_meta(owner.published, owner.source)}


def _article_meta(entry: StoredArticle) -> dict[str, str | int]:
    a = entry.article
    meta: dict[str, str | int] = {
        **filter_meta(a.published, a.source),
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
    if a.kind != "article":
        meta["kind"] = a.kind
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
        kind=meta.get("kind", "article"),
    )
    spans = json.loads(meta["sentences"])
    sentences = tuple(Sentence(aid, i, s, e) for i, (s, e) in enumerate(spans))
    return StoredArticle(article, sentences, int(meta["chunks"]))


def _chunks_in(got: dict) -> Iterator[Chunk]:  # noqa: ANN001 - a chromadb get() result
    return (_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"]))


def _chunk(cid: str, text: str, meta: dict) -> Chunk:  # noqa: ANN001 - chroma metadata
    return Chunk(cid, meta["article_id"], int(meta["start"]), int(meta["end"]), text, tuple(json.loads(meta["sentences"])))


class _Remote:
    """A chromadb client or collection on a server: a request that fails or times out becomes a ``BriefQAError``."""

    def __init__(self, target: object, url: str, timeout_s: float) -> None:
        self._target, self._url, self._timeout_s = target, url, timeout_s

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: object, **kwargs: object) -> object:
            import httpx
            from chromadb.api.models.Collection import Collection

            try:
                result = attr(*args, **kwargs)
            except httpx.TransportError as err:
                raise _unreachable(self._url, err, self._timeout_s) from None
            return _Remote(result, self._url, self._timeout_s) if isinstance(result, Collection) else result

        return call


def _unreachable(url: str, err: Exception, timeout_s: float) -> BriefQAError:
    import httpx

    why = f"no answer within {timeout_s:g} s" if isinstance(err, httpx.TimeoutException) else (str(err) or type(err).__name__)
    return BriefQAError(
        f"cannot reach the Chroma server at {url} ({why})",
        "start it (chroma run --path DIR --host HOST --port PORT), correct BRIEFQA_CHROMA_URL, "
        "or unset it to use the store in the data dir",
    )
