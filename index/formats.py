"""The file formats ``index.load`` reads, by suffix: the one list the loader, the CLI help and the
upload dialog share. To add a format: its suffix here and its reader in ``index.load._parse``.
"""

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
