"""``briefqa``: the command line, a thin shell over ``qa.service``.

    briefqa index add briefings/ https://feeds.example.org/world.xml   # files, pages and RSS/Atom feeds
    briefqa index watch https://feeds.example.org/world.xml --every 30m # new items only, a line per round
    briefqa index list
    briefqa index export all.jsonl      # every article, in the JSONL shape index add reads back
    briefqa ask "Did Russia call Iran an ally?" [--json | --format markdown] [--since 2026-01-01] [--source Reuters] [--explain]
    briefqa eval eval/seed_dev.jsonl
    briefqa serve [--host 127.0.0.1] [--port 7860] [--auth user:password]   # the chat page
    briefqa check "Russia called Iran an ally"   # quotes that support / contradict a claim (--pairs FILE.jsonl: one verdict a line)
    briefqa serve --mcp [--port 8765]   # the MCP tools ask, check and list_briefings at http://127.0.0.1:PORT/mcp
    BRIEFQA_MCP_TOKEN=… briefqa serve --mcp --host 0.0.0.0   # beyond loopback: clients send Authorization: Bearer …
    briefqa doctor [--json]             # one line per component: OK, or the cause and the fix

``BRIEFQA_CHROMA_URL`` switches every command from the embedded store to a Chroma server.
Every user-facing error prints one line ("error: cause. Fix: …") and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from core.errors import BriefQAError
from core.settings import Settings
from index.formats import SUPPORTED
from qa import generators

if TYPE_CHECKING:
    from index.pipeline import Indexer
    from qa.assistant import Assistant

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Question answering over news briefings, with verified quotes.")
index_app = typer.Typer(no_args_is_help=True, help="Add, list and remove indexed briefings.")
app.add_typer(index_app, name="index")

DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Index directory (env BRIEFQA_DATA_DIR).")]
AllowPrivate = Annotated[bool, typer.Option("--allow-private", help="Fetch URLs on private, loopback and link-local addresses too (env BRIEFQA_FETCH_ALLOW_PRIVATE).")]
Generator = Annotated[Optional[str], typer.Option("--generator", help=f"{generators.help_text()} (env BRIEFQA_GENERATOR).")]


def _settings(data_dir: Path | None, generator: str | None = None, auth: str | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if generator is not None:
        overrides["generator"] = generator
    if auth is not None:
        overrides["auth"] = auth
    try:
        settings = Settings(**overrides)
    except ValueError as err:
        raise BriefQAError(f"invalid setting: {err.errors()[0]['msg'] if hasattr(err, 'errors') else err}", "see briefqa --help") from None
    generators.backend(settings.generator)  # an unknown generator is a one-line error before anything loads
    return settings


def _indexer(settings: Settings, command: str) -> Indexer:
    from qa.service import open_indexer

    return open_indexer(settings, f"briefqa index {command}")


def _assistant(settings: Settings) -> Assistant:
    from qa.service import open_assistant

    return open_assistant(settings)


@index_app.command("add")
def index_add(
    paths: Annotated[list[str], typer.Argument(help=f"Files ({' '.join(SUPPORTED)}), directories, page URLs or RSS/Atom feed URLs.")],
    allow_private: AllowPrivate = False,
    data_dir: DataDir = None,
) -> None:
    """Index briefing files (directories recursively), web pages and feeds (each item's article). Re-adding is a no-op.

    Exit status 1 when any file or URL was rejected (the others are still indexed)."""
    from tqdm import tqdm

    indexer = _indexer(_settings(data_dir), "add")
    with tqdm(total=0, unit="file", desc="indexing", file=sys.stderr, disable=None) as bar:

        def progress(done: int, total: int, path: str) -> None:
            bar.total = total
            bar.set_postfix_str(Path(path).name[:40])
            bar.update(done - bar.n)

        results = indexer.add(paths, progress, allow_private=allow_private or None)
    for r in results:
        detail = f"{r.article_id}  {r.chunks} chunks  {r.title}" if r.status == "added" else r.reason
        if r.status == "added" and r.reason:
            detail += f"  ({r.reason})"
        typer.echo(f"{r.status:<9} {r.path}  {detail}")
    counts = {s: sum(r.status == s for r in results) for s in ("added", "unchanged", "skipped", "rejected")}
    typer.echo(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {len(indexer.store.article_ids())} articles in {indexer.settings.data_dir}")
    if counts["rejected"]:  # the good files are indexed; the exit status says not all were
        raise typer.Exit(1)


@index_app.command("list")
def index_list(data_dir: DataDir = None) -> None:
    """List indexed articles: id, chunks, date, source, title."""
    from qa.service import open_index

    settings = _settings(data_dir)
    _, store = open_index(settings, create=False)
    entries = sorted(store.articles(), key=lambda e: (e.article.published or "", e.article.title))
    for e in entries:
        a = e.article
        kind = "[feed summary] " if a.kind == "summary" else ""
        typer.echo(f"{a.id}  {e.chunks:>3} chunks  {a.published or '-':<10}  {a.source or '-':<12}  {kind}{a.title}")
    typer.echo(f"{len(entries)} articles in {settings.data_dir}")


@index_app.command("watch")
def index_watch(
    feeds: Annotated[list[str], typer.Argument(help="RSS/Atom feed URLs (or page URLs).")],
    every: Annotated[str, typer.Option(help="Time between rounds: 30m, 1h, 90s.")] = "30m",
    rounds: Annotated[Optional[int], typer.Option(help="Stop after this many rounds (default: until Ctrl-C).")] = None,
    allow_private: AllowPrivate = False,
    data_dir: DataDir = None,
) -> None:
    """Add the feeds' new items now and every --every: one line per round; Ctrl-C stops it cleanly."""
    from qa.service import parse_duration, watch_feeds

    every_s = parse_duration(every)
    indexer = _indexer(_settings(data_dir), "watch")
    done = 0
    try:
        for round_ in watch_feeds(indexer, feeds, every_s=every_s, rounds=rounds, allow_private=allow_private or None):
            done = round_.n
            typer.echo(round_.line())
            for r in round_.results:
                if r.status == "rejected":
                    typer.echo(f"  failed {r.path}  {r.reason}", err=True)
    except KeyboardInterrupt:
        typer.echo(f"stopped after {done} rounds")


@index_app.command("export")
def index_export(file: Annotated[Path, typer.Argument(help="The JSONL file to write (replaced if it exists).")], data_dir: DataDir = None) -> None:
    """Write every stored article to a JSONL file that `briefqa index add FILE.jsonl` reads back (same ids, texts,
    titles, dates, outlets, links)."""
    from index.export import write_jsonl
    from qa.service import open_index

    settings = _settings(data_dir)
    _, store = open_index(settings, create=False)
    typer.echo(f"exported {write_jsonl(store.articles(), file)} articles from {settings.data_dir} to {file}")


@index_app.command("remove")
def index_remove(article_id: Annotated[str, typer.Argument(help="Article id (a unique prefix is enough).")], data_dir: DataDir = None) -> None:
    """Remove an article and every chunk of it."""
    removed = _indexer(_settings(data_dir), "remove").remove(article_id)
    typer.echo(f"removed {removed.article.id}  {removed.chunks} chunks  {removed.article.title}")


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object (same as --format json).")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="text (streamed), json (one object), markdown (footnoted quotes).")] = Format.text,
    since: Annotated[Optional[str], typer.Option(help="Only articles published on or after YYYY-MM-DD (undated ones left out).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Only articles published on or before YYYY-MM-DD (undated ones left out).")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Only this outlet (exact name, any case; repeatable).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Also print the answer rules that fired, in order (qa/policy.py; --json: its trace).")] = False,
    no_summary: Annotated[bool, typer.Option("--no-summary", help="Quotes first, no model: the checker's chosen quotes are the whole answer.")] = False,
    data_dir: DataDir = None,
    generator: Generator = None,
) -> None:
    """Answer a question with verified quotes from the indexed briefings (optionally only from a date range and outlets)."""
    from index.filters import Filters
    from qa.export import answer_markdown
    from qa.choose import Quoted
    from qa.records import Answer, answer_json

    filters = Filters.parse(since, until, source or ())  # a bad date is one line before anything loads
    fmt = Format.json if as_json else fmt
    settings = _settings(data_dir, "extractive" if no_summary else generator)
    assistant = _assistant(settings.model_copy(update={"answer_order": "quotes_first"}) if no_summary else settings)
    final: Answer | None = None
    shown = 0
    live = fmt is Format.text and sys.stdout.isatty()
    for item in assistant.ask_stream(question, filters=filters):
        if isinstance(item, Answer):
            final = item
        elif isinstance(item, Quoted):
            if live and item.citations:  # quotes first: the chosen quotes at once, the summary streams beneath
                typer.echo(_quotes(item.citations) + "\n")
        elif live:
            sys.stdout.write(item[shown:])
            sys.stdout.flush()
            shown = len(item)
    assert final is not None
    if fmt is not Format.text:
        typer.echo(json.dumps(answer_json(final), ensure_ascii=False, indent=2) if fmt is Format.json else answer_markdown(final))
        if explain and fmt is Format.markdown:
            typer.echo(_explained(final))
        return
    if shown:
        typer.echo("\r\033[K", nl=False)
    typer.echo(_render(final))
    if explain:
        typer.echo(_explained(final))


def _explained(a) -> str:  # noqa: ANN001 - qa.records.Answer
    """The rules that fired, in order: "rules: 2 fired\n  closest_passage  rewrote  showed the closest passage too"."""
    return "\n".join([f"rules: {len(a.trace)} fired (qa/policy.py; BRIEFQA_RULES_OFF switches one off)",
                      *(f"  {f.rule:<16} {f.action:<8} {f.did}" for f in a.trace)])


def _quotes(cites, *, related: bool = False) -> str:  # noqa: ANN001 - qa.records.Citation
    """Each quote with who says it, where and when, and the checker's label when one judged it."""
    lines = []
    for c in cites:
        judged = f" · {c.support.side or c.support.label} p={c.support.p:.2f}" if c.support else ""
        lines.append(f"\n{'related:' if related else f'[{c.n}]'} “{c.quote}”\n    — {c.attribution}; {c.title} "
                     f"({c.published or 'undated'}) chars {c.start}–{c.end}{judged}")
    return "\n".join(lines)


def _render(a) -> str:  # noqa: ANN001 - qa.records.Answer
    badge = {"supported": "Supported", "contradicted": "Contradicted", "mixed": "Both sides", "not_found": "Not in the briefings"}
    lines = [f"[{badge[a.verdict]}] {a.text}"]
    if a.standalone_question:
        lines.append(f"  (asked as: {a.standalone_question})")
    lines.append(_quotes(a.citations or a.related, related=not a.citations))
    lines.append(f"\n{a.timings.total_s:.1f}s (retrieve {a.timings.retrieve_s * 1000:.0f} ms, generate {a.timings.generate_s:.1f} s)")
    return "\n".join(lines)


@app.command()
def check(
    claim: Annotated[Optional[str], typer.Argument(help="The claim to check against the briefings.")] = None,
    pairs: Annotated[Optional[Path], typer.Option("--pairs", help='JSONL of {"question", "claim", "quote"}: one JSON verdict a line.')] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Find the quotes that support or contradict a claim, judged by the checker (no model is started)."""
    from qa.checker import Checker, CheckerJudge
    from qa.factcheck import judge_pair
    from qa.service import check as check_claim

    if pairs is not None:
        judge = CheckerJudge(Checker.load())
        for row in _pair_rows(pairs):
            typer.echo(json.dumps(judge_pair(judge, row.get("question", ""), row.get("claim", ""), row["quote"]).json()))
        return
    if not claim:
        raise BriefQAError("no claim given", 'briefqa check "Russia called Iran an ally" (or --pairs FILE.jsonl)')
    fc = check_claim(claim, _settings(data_dir))
    if as_json:
        typer.echo(json.dumps(fc.json(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"[{fc.verdict.replace('_', ' ')}] {fc.claim}  ({fc.considered} sentences read)")
    for c in fc.citations:
        assert c.support is not None
        typer.echo(f"\n[{c.n}] {c.support.label} p={c.support.p:.2f} “{c.quote}”\n    — {c.attribution}; {c.title} "
                   f"({c.published or 'undated'}) chars {c.start}–{c.end}")


def _pair_rows(path: Path) -> list[dict[str, str]]:
    """The lines of a --pairs file; a bad line is one error naming it."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BriefQAError(f"cannot read {path}: {err.strerror or err}", "give an existing JSONL file") from None
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("quote"), str):
                raise ValueError
        except ValueError:
            raise BriefQAError(f"{path} line {no} is not a JSON object with a \"quote\" string",
                               'write one {"question": ..., "claim": ..., "quote": ...} object a line') from None
        rows.append({k: str(row.get(k) or "") for k in ("question", "claim", "quote")})
    return rows


@app.command("eval")
def eval_cmd(
    file: Annotated[Path, typer.Argument(help="Question set (.jsonl), see eval/README.md.")],
    data_dir: DataDir = None,
    generator: Generator = None,
    fail_under: Annotated[float, typer.Option(help="Exit 1 when the share correct is below this.")] = 0.0,
) -> None:
    """Score answers on a question set: correctness, refusals, verified quotes, gold overlap, latency."""
    from qa.evaluate import load_items, render, run_eval

    items = load_items(file)
    assistant = _assistant(_settings(data_dir, generator))
    summary = run_eval(items, assistant.ask, assistant.retriever.store)
    typer.echo(render(summary))
    if items and summary.correct / len(items) < fail_under:
        raise typer.Exit(1)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    data_dir: DataDir = None,
    generator: Generator = None,
) -> None:
    """Check every component (packages, model file, llama.cpp build vs this CPU, a real decode, embedder,
    index, Chroma server, disk, chromium): one line each, OK or the cause and the fix. Exit 1 if any fails."""
    from qa.doctor import report

    text, ok = report(_settings(data_dir, generator), as_json)
    typer.echo(text)
    if not ok:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; any other than loopback (e.g. 0.0.0.0) needs --auth (the page only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the page, or of the MCP server with --mcp.")] = 7860,
    auth: Annotated[Optional[str], typer.Option(help="user:password for the page (env BRIEFQA_AUTH, which ps cannot show).")] = None,
    mcp: Annotated[bool, typer.Option("--mcp", help="Serve the MCP tools ask, check, list_briefings at http://HOST:PORT/mcp, not the page "
                                                    "(beyond loopback: needs BRIEFQA_MCP_TOKEN or BRIEFQA_MCP_TOKEN_FILE).")] = False,
    data_dir: DataDir = None,
    generator: Generator = None,
) -> None:
    """Open the chat page: streamed answers, clickable quotes, briefing upload (with --mcp: the MCP tools instead).
    Blocks until Ctrl+C."""
    settings = _settings(data_dir, generator, auth)
    if mcp:
        from qa.service import newest_first
        from ui.mcp import check_host, mcp_token, serve as serve_mcp

        token = mcp_token(settings)
        check_host(host, token)  # refuse an exposed server without a token before loading anything
        assistant = _assistant(settings)
        serve_mcp(assistant, lambda: newest_first(assistant.retriever.store.articles()), host, port, token)
        return
    try:
        from ui.app import login, serve as serve_page
    except ImportError as err:
        raise BriefQAError(f"the chat page needs gradio ({err})", "pip install -e '.[ui]' (scripts/setup.sh does it)") from None
    from qa.service import BriefingService

    login(host, settings.auth.get_secret_value())  # refuse an exposed page before loading anything
    serve_page(BriefingService(settings), host, port)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    try:
        app()
    except BriefQAError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
