"""The README's settings table names every setting's environment variable, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from core.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Settings") : text.index("## How it works")]


def test_readme_settings_table_lists_every_env_var() -> None:
    table = "\n".join(line for line in _table().splitlines() if "(setup only)" not in line)  # scripts/setup.sh reads those
    listed = set(re.findall(r"`(BRIEFQA_[A-Z0-9_]+)`", table))
    expected = {f"BRIEFQA_{name.upper()}" for name in Settings.model_fields}
    assert expected - listed == set(), "settings missing from the README table"
    assert listed - expected == set(), "README table names settings that do not exist"


def test_every_setting_is_described() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []
