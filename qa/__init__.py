"""Question answering: retrieve → generate → cite. Entry points: ``ask`` and ``ask_stream``."""
