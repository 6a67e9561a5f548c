"""kill -9 in the middle of indexing or removing: the store stays consistent and a re-run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qa.service import open_indexer
from core.settings import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

INDEX_SCRIPT = """
import sys
from pathlib import Path
from core.settings import Settings
from qa.service import open_indexer
ix = open_indexer(Settings(data_dir=Path(sys.argv[1]), embedder="hash"))
def progress(done, total, path):
    print(done, flush=True)
ix.add([sys.argv[2]], progress)
print("finished", flush=True)
"""


def make_corpus(directory: Path, n: int) -> Path:
    directory.mkdir()
    for i in range(n):
        body = " ".join(f"Minister Number{i} said the talks on item {j} would go on. Officials agreed." for j in range(12))
        (directory / f"a{i:03}.txt").write_text(f"Briefing {i}\n\n{body}\n", encoding="utf-8")
    return directory


CHECK_SCRIPT = """
import sys
from pathlib import Path
from index.bm25 import fingerprint
from core.settings import Settings
from index.pipeline import load_bm25
from qa.service import open_indexer
settings = Settings(data_dir=Path(sys.argv[1]), embedder="hash")
ix = open_indexer(settings)  # opening repairs
entries = {e.article.id: e for e in ix.store.articles()}
chunks = ix.store.chunks()
per_article = {}
for c in chunks:
    assert c.article_id in entries, "a chunk of an unlisted article survived"
    per_article[c.article_id] = per_article.get(c.article_id, 0) + 1
for aid, entry in entries.items():
    assert per_article.get(aid, 0) == entry.chunks, "a listed article is missing chunks"
    assert len(ix.store.sentence_vectors([s.id for s in entry.sentences])) == len(entry.sentences)
bm25 = load_bm25(settings, ix.store)
assert bm25.fingerprint == fingerprint(entries) and sorted(bm25.ids) == sorted(c.id for c in chunks)
print(len(entries))
"""


def assert_consistent(settings: Settings) -> int:
    """Restart (a new process), repair, check every invariant; the number of listed articles."""
    proc = subprocess.run([sys.executable, "-c", CHECK_SCRIPT, str(settings.data_dir)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return int(proc.stdout.split()[-1])


def kill_after(proc: subprocess.Popen[str], lines: int) -> None:
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().isdigit():
            seen += 1
        if seen >= lines:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_kill_during_add_then_rerun(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", 200)
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    cmd = [sys.executable, "-c", INDEX_SCRIPT, str(settings.data_dir), str(corpus)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    kill_after(proc, 120)
    assert proc.returncode == -signal.SIGKILL
    partial = assert_consistent(settings)
    assert 0 < partial < 200
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0 and "finished" in done.stdout
    assert assert_consistent(settings) == 200


def test_kill_during_remove(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", 30)
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    add = [sys.executable, "-c", INDEX_SCRIPT, str(settings.data_dir), str(corpus)]
    assert subprocess.run(add, capture_output=True, text=True, cwd=ROOT, timeout=300).returncode == 0
    ids = [line.split()[0] for line in subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", "index", "list", "--data-dir", str(settings.data_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ, "BRIEFQA_EMBEDDER": "hash"},
    ).stdout.splitlines()[:-1]]
    assert len(ids) == 30
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom qa.service import open_indexer\nfrom core.settings import Settings\n"
        "ix = open_indexer(Settings(data_dir=Path(sys.argv[1]), embedder='hash'))\n"
        "for aid in sys.argv[2:]:\n    ix.remove(aid)\n    print(1, flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(settings.data_dir), *ids], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    kill_after(proc, 10)
    assert 0 < assert_consistent(settings) < 30
    assert subprocess.run(add, capture_output=True, text=True, cwd=ROOT, timeout=300).returncode == 0
    assert assert_consistent(settings) == 30


def test_a_second_writer_process_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    open_indexer(settings)  # this process now holds the writer lock
    corpus = make_corpus(tmp_path / "corpus", 1)
    proc = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "index", "add", str(corpus), "--data-dir",
                           str(settings.data_dir)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "BRIEFQA_EMBEDDER": "hash"})
    assert proc.returncode == 2 and "is being written by" in proc.stderr and "Traceback" not in proc.stderr
