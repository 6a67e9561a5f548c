"""Indexing: load → clean → sentences/chunks → embed → store (Chroma + BM25)."""
