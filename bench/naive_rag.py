"""The naive LangChain RAG that the benchmarks compare against (the baseline, not the product).

RecursiveCharacterTextSplitter(1000/200) → Chroma similarity search k=4 (same embedder as ours)
→ the same local model with a plain "answer with quotes" prompt (RGB's own rejection sentence).
Its quoted phrases are checked by the same verifier as ours (``qa.cite.find_span`` against the
articles the retrieved chunks came from): a quote is verified only if it is a verbatim span.

    rag = NaiveRag(embedder, generator)
    rag.index(articles)
    a = rag.ask("Who acquired Instagram?")
    a.text, a.refused, a.quotes_verified, a.quotes_shown, a.prompt_tokens
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import chromadb
import numpy as np
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.embed import Embedder
from index.records import Article
from qa.cite import find_span
from qa.generators import Generator, Message

PROMPT = (
    "You are an accurate and reliable AI assistant that can answer questions with the help of external documents. "
    "Answer the question using only the documents below, and quote the sentences that support your answer "
    'verbatim in double quotes. If the documents do not contain the answer, reply exactly "I can not answer '
    'the question because of the insufficient information in documents."'
)
REFUSAL = re.compile(r"insufficient information|can ?not answer|cannot answer|do(?:es)? not (?:contain|mention|provide)", re.I)
QUOTED = re.compile(r"[\"“]([^\"“”]{8,}?)[\"”]")


class _Embeddings(Embeddings):
    """Our ``Embedder`` as LangChain ``Embeddings`` (the baseline uses the same vectors as ours)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return np.asarray(self._embedder.embed(texts), np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@dataclass(frozen=True)
class NaiveAnswer:
    text: str
    refused: bool
    context: tuple[str, ...]  # the chunk texts passed to the model
    quotes_shown: int
    quotes_verified: int
    prompt_tokens: int
    seconds: float
    first_token_s: float


class NaiveRag:
    """The baseline pipeline over one in-memory Chroma collection."""

    def __init__(self, embedder: Embedder, generator: Generator | None, *, k: int = 4,
                 count_tokens: Callable[[str], int] | None = None, max_tokens: int = 220) -> None:
        self._splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self._db = Chroma(
            collection_name=f"naive-{uuid.uuid4().hex[:8]}",
            embedding_function=_Embeddings(embedder),
            client=chromadb.EphemeralClient(),
            collection_metadata={"hnsw:space": "cosine"},
        )
        self._articles: dict[str, Article] = {}
        self._generator, self._k, self._max_tokens = generator, k, max_tokens
        self._count = count_tokens or (lambda text: len(text.split()))

    def index(self, articles: Sequence[Article]) -> int:
        """Split and embed ``articles``; returns the number of chunks added."""
        new = [a for a in articles if a.id not in self._articles]
        self._articles.update({a.id: a for a in new})
        docs = self._splitter.split_documents(
            [Document(page_content=a.text, metadata={"article_id": a.id, "title": a.title}) for a in new]
        )
        for i in range(0, len(docs), 2000):
            self._db.add_documents(docs[i : i + 2000])
        return len(docs)

    def retrieve(self, question: str) -> list[Document]:
        return self._db.similarity_search(question, k=self._k)

    def messages(self, question: str, docs: Sequence[Document]) -> list[Message]:
        context = "\n\n".join(f"Document {i}: {d.page_content}" for i, d in enumerate(docs, 1))
        return [Message("system", PROMPT), Message("user", f"Documents:\n{context}\n\nQuestion: {question}")]

    def ask(self, question: str) -> NaiveAnswer:
        t0 = time.perf_counter()
        docs = self.retrieve(question)
        messages = self.messages(question, docs)
        text, first = "", None
        if self._generator is not None:
            for piece in self._generator.stream(messages, json_schema=None, max_tokens=self._max_tokens):
                first = first if first is not None else time.perf_counter() - t0
                text += piece
        seconds = time.perf_counter() - t0
        sources = [self._articles[d.metadata["article_id"]].text for d in docs]
        quotes = [q.strip() for q in QUOTED.findall(text)]
        verified = sum(any(find_span(src, q) is not None for src in sources) for q in quotes)
        return NaiveAnswer(
            text=text.strip(),
            refused=bool(REFUSAL.search(text)),
            context=tuple(d.page_content for d in docs),
            quotes_shown=len(quotes),
            quotes_verified=verified,
            prompt_tokens=sum(self._count(m.content) for m in messages),
            seconds=seconds,
            first_token_s=first if first is not None else seconds,
        )
