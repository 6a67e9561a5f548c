"""The chat page: Gradio presentation over ``qa.service.BriefingService`` (no answering logic here).

Chat tab: a status line (articles indexed, newest date, models in use) and example questions about the
newest briefings; on Enter the briefings being read appear at once (``BriefingService.events``' ``Reading``),
then the answer streams beneath them; the finished answer shows its verdict badge, each sentence's check
(once the support judge ran) with cut claims collapsed, a timeline of the cited articles (latest marked) and
the quote cards in Yes / No (/ Neither) columns — or in one list when no quote takes a side. Cards are buttons:
click, or Tab to one and press Enter, to open the article beside the chat with exactly the quote highlighted.
Briefings tab: list, upload, remove. Every model-using event shares one queue slot.

Exposure: the page binds 127.0.0.1 unless told otherwise, and refuses any other address without a
password (``--auth user:password`` or ``BRIEFQA_AUTH``). Uploads are capped at ``max_upload_mb`` (by
Gradio and again by the service) and copied into ``<data dir>/uploads/`` under sanitised names.

    from core.settings import Settings
    from qa.service import BriefingService
    from ui.app import serve
    serve(BriefingService(Settings()), "127.0.0.1", 7860)   # prints the URL, blocks until Ctrl+C

API (``gradio_client``): ``/ask`` (question -> chatbot, answer as a JSON string, cleared textbox;
the string, not a dict: the client would take the citations' ``path`` keys for files to download),
``/briefings``, ``/add_files``, ``/remove_article``.
"""

from __future__ import annotations

import ipaddress
import json
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline tool: Gradio must not phone home

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from core.errors import BriefQAError  # noqa: E402
from index.filters import Filters  # noqa: E402
from index.formats import SUPPORTED  # noqa: E402
from index.records import FileResult  # noqa: E402
from qa.export import answer_markdown  # noqa: E402
from qa.choose import Quoted  # noqa: E402
from qa.records import Answer, Drafting, Reading, answer_json  # noqa: E402
from qa.service import BriefingService  # noqa: E402
from ui import render  # noqa: E402
from ui.style import CSS, VIEWER_JS  # noqa: E402

FILE_TYPES = list(SUPPORTED)
MODEL_QUEUE = "briefqa-model"  # answering and indexing share the single local model / embedder


@dataclass(frozen=True)
class _Turn:
    """One finished answer of the session and the briefings it was read from."""

    answer: Answer
    reading: Reading | None


def _transcript(turns: list[_Turn]) -> list[dict[str, str]]:
    messages = []
    for i, t in enumerate(turns):
        messages += [{"role": "user", "content": render.question_html(t.answer.question)},
                     {"role": "assistant", "content": render.answer_html(t.answer, i, t.reading)}]
    return messages


def _json(turns: list[_Turn]) -> str:
    """The last answer as ``briefqa ask --json`` prints it ("" before the first answer)."""
    return json.dumps(answer_json(turns[-1].answer), ensure_ascii=False, indent=2) if turns else ""


def _rows(results: list[FileResult]) -> list[list[str]]:
    def detail(r: FileResult) -> str:
        if r.status == "added":
            return f"{r.title} ({r.chunks} chunk{'s' if r.chunks != 1 else ''})" + (f"; {r.reason}" if r.reason else "")
        return r.reason

    return [[r.path if "://" in r.path else Path(r.path).name, r.status, detail(r)] for r in results]  # a web address in full


class _Handlers:
    """The page's event handlers over one service (their names are the API's endpoint names)."""

    def __init__(self, service: BriefingService) -> None:
        self.service = service

    def ask(self, question: str, turns: list[_Turn], since: str = "", until: str = "",
            sources: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
        """Stream one answer: the briefings being read first, then the text, then the finished answer.

        The chat history comes from the previous answers of this session; ``since``/``until`` (YYYY-MM-DD, inclusive)
        and ``sources`` (outlets) restrict the briefings it is answered from.
        """
        done = _transcript(turns)
        if not question.strip():  # blank input is not sent (with history it would become a bare "follow-up to: …")
            gr.Warning("Type a question first.")
            yield done, turns, _json(turns), ""
            return
        user = {"role": "user", "content": render.question_html(question.strip())}

        def live(html: str) -> tuple[Any, ...]:
            return [*done, user, {"role": "assistant", "content": html}], turns, "", ""

        yield live(render.streaming_html(""))
        reading: Reading | None = None
        final: Answer | None = None
        try:
            filters = Filters.parse(since.strip() or None, until.strip() or None, sources or ())
            for item in self.service.events(question, [(t.answer.question, t.answer.text) for t in turns], filters=filters):
                if isinstance(item, Answer):
                    final = item
                elif isinstance(item, Reading):
                    reading = item
                    yield live(render.reading_html(reading))
                elif isinstance(item, Quoted):  # quotes first: the checked quotes' cards before the model writes
                    yield live(render.reading_html(reading, "", item.citations, len(turns)))
                elif isinstance(item, Drafting):
                    yield live(render.reading_html(reading, item.text, item.citations, len(turns)))
        except BriefQAError as err:
            gr.Warning(str(err))
            yield done, turns, _json(turns), question
            return
        assert final is not None
        turns = [*turns, _Turn(final, reading)]
        yield _transcript(turns), turns, _json(turns), ""

    def show_source(self, turns: list[_Turn], evt: gr.EventData) -> str:
        """The clicked card's article with its quote highlighted (or why it cannot be shown)."""
        try:
            answer = turns[int(evt.turn)].answer
            kind = str(evt.kind)
            cite = next(c for c in (answer.citations if kind == "cite" else answer.related) if c.n == int(evt.n))
        except (AttributeError, IndexError, StopIteration, ValueError):
            return render.notice_html("That quote belongs to an answer still being written, or no longer in the chat.")
        article = self.service.article(cite.article_id)
        if article is None:
            return render.notice_html(f"“{cite.title}” is no longer in the index (it was removed).")
        if article.text[cite.start : cite.end] != cite.quote:
            return render.notice_html(f"“{cite.title}” changed since this answer; the quote no longer lines up.")
        return render.article_html(article, cite.start, cite.end, render.quote_label(cite, kind))

    def pick_example(self, evt: gr.SelectData) -> str:
        return str(evt.value["text"])

    def clear_chat(self) -> tuple[list[_Turn], None, str]:
        return [], None, render.VIEWER_PLACEHOLDER

    def briefings(self) -> list[list[object]]:
        """Indexed articles, newest first: id, title, source, date, chunks."""
        return [[e.article.id, e.article.title, e.article.source or "", e.article.published or "", e.chunks]
                for e in self.service.briefings()]

    def context(self) -> tuple[Any, ...]:
        """The status line, example questions about the newest briefings and the outlets to filter by (on load and
        after each change)."""
        return (render.status_html(self.service.status()), gr.Chatbot(examples=_examples(self.service)),
                gr.Dropdown(choices=self.service.sources()))

    def markdown(self, turns: list[_Turn]) -> str:
        """The last answer as Markdown with footnotes ("" before the first answer): what "Copy as Markdown" copies."""
        return answer_markdown(turns[-1].answer) if turns else ""

    def add_urls(self, text: str) -> tuple[Any, ...]:
        """Fetch and index the web addresses in ``text`` (one per line); one result row per address."""
        results: list[FileResult] = []
        try:
            results = self.service.add_urls([line.strip() for line in text.splitlines() if line.strip()])
        except BriefQAError as err:
            gr.Warning(str(err))
            return _rows(results), self.briefings(), text
        return _rows(results), self.briefings(), ""

    def add_files(self, paths: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        """Index uploaded files (kept in the data dir); one result row per file (added / unchanged / skipped / rejected)."""
        def on_progress(done: int, total: int, path: str) -> None:
            progress((done, total), desc=f"indexing {Path(path).name}")

        results: list[FileResult] = []
        try:
            results = self.service.add_uploads(paths or [], on_progress)
        except BriefQAError as err:
            gr.Warning(str(err))
        return _rows(results), self.briefings(), None

    def remove_article(self, article_id: str) -> tuple[Any, ...]:
        """Remove one article (a unique id prefix is enough)."""
        try:
            removed = self.service.remove(article_id)
        except BriefQAError as err:
            gr.Warning(str(err))
            return self.briefings(), article_id
        gr.Info(f"Removed {removed.article.title} ({removed.chunks} chunks)")
        return self.briefings(), ""

    def pick_row(self, evt: gr.SelectData) -> str:
        return str(evt.row_value[0])


def _examples(service: BriefingService) -> list[dict[str, str]] | None:
    return [{"text": q} for q in service.examples()] or None


def _filter_controls(service: BriefingService) -> tuple[Any, Any, Any]:
    """Beside the question box: a date range and the outlets to answer from (empty: everything indexed)."""
    with gr.Row(elem_id="filters"):
        since = gr.Textbox(label="From (YYYY-MM-DD)", value="", placeholder="any date", max_lines=1, scale=1, elem_id="since")
        until = gr.Textbox(label="Until (YYYY-MM-DD)", value="", placeholder="any date", max_lines=1, scale=1, elem_id="until")
        sources = gr.Dropdown(choices=service.sources(), value=[], multiselect=True, label="Sources", scale=2, elem_id="sources")
    return since, until, sources


def build_app(service: BriefingService) -> gr.Blocks:
    """The page's components and events; ``serve`` queues and launches it."""
    with gr.Blocks(title="briefing-qa", analytics_enabled=False) as demo:
        turns = gr.State([])
        gr.Markdown("# briefing-qa\nAnswers are verbatim quotes from the indexed briefings. "
                    "Click a quote (or Tab to it and press Enter) to read it in its article.")
        status = gr.HTML(render.status_html(service.status()), elem_id="status")
        with gr.Tab("Chat", id="chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Answers", height=620, latex_delimiters=[], feedback_options=None, buttons=["copy", "copy_all"],
                        examples=_examples(service), placeholder="Ask a question about the indexed briefings.",
                        elem_id="chat",
                    )
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask a question…", label="Question", show_label=False, scale=5,
                                              elem_id="question")
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="send")
                    filters = _filter_controls(service)
                    with gr.Accordion("Last answer as JSON", open=False):
                        answer_box = gr.Code(language="json", label="answer", interactive=False, elem_id="answer-json")
                    with gr.Row():
                        markdown = gr.Textbox(label="Last answer as Markdown", lines=3, interactive=False, buttons=["copy"],
                                              elem_id="answer-md", scale=5)
                        copy = gr.Button("Copy as Markdown", size="sm", scale=1, elem_id="copy-md")
                with gr.Column(scale=2):
                    viewer = gr.HTML(render.VIEWER_PLACEHOLDER, label="Source", js_on_load=VIEWER_JS, max_height=680,
                                     container=True, elem_id="viewer")
        with gr.Tab("Briefings", id="briefings"):
            table = gr.Dataframe(headers=["id", "title", "source", "date", "chunks"], interactive=False, wrap=True,
                                 label="Indexed briefings", elem_id="briefings-table")
            refresh = gr.Button("Refresh", size="sm")
            upload = gr.File(label=f"Add briefings ({' '.join(FILE_TYPES)})", file_count="multiple", file_types=FILE_TYPES,
                             elem_id="upload")
            results = gr.Dataframe(headers=["file", "status", "detail"], interactive=False, label="Last upload", wrap=True,
                                   elem_id="upload-results")
            with gr.Row():
                urls = gr.Textbox(label="Add from web addresses (one per line)", lines=2, scale=4, elem_id="urls")
                fetch = gr.Button("Fetch and add", scale=1, elem_id="fetch")
            with gr.Row():
                remove_id = gr.Textbox(label="Article id to remove (a prefix is enough; click a row to fill it)", scale=4)
                remove = gr.Button("Remove", variant="stop", scale=1)

        page = _Page(turns, chatbot, question, send, answer_box, viewer, table, refresh, upload, results, remove_id, remove, status,
                     filters, markdown, copy, urls, fetch)
        _wire(_Handlers(service), demo, page)
    return demo


@dataclass(frozen=True)
class _Page:
    """The components the events connect."""

    turns: Any
    chatbot: Any
    question: Any
    send: Any
    answer_box: Any
    viewer: Any
    table: Any
    refresh: Any
    upload: Any
    results: Any
    remove_id: Any
    remove: Any
    status: Any
    filters: tuple[Any, Any, Any]  # since, until, sources
    markdown: Any
    copy: Any
    urls: Any
    fetch: Any


def _wire(h: _Handlers, demo: gr.Blocks, p: _Page) -> None:
    """Connect the page's events to the handlers (model-using ones share one queue slot)."""
    chat_io: dict[str, Any] = dict(fn=h.ask, inputs=[p.question, p.turns, *p.filters],
                                   outputs=[p.chatbot, p.turns, p.answer_box, p.question], concurrency_id=MODEL_QUEUE)
    asked = [p.question.submit(**chat_io, api_name="ask"), p.send.click(**chat_io, api_visibility="private")]
    picked = p.chatbot.example_select(h.pick_example, None, p.question, api_visibility="private")
    asked.append(picked.then(**chat_io, api_visibility="private"))
    for answered in asked:
        answered.then(h.markdown, p.turns, p.markdown, api_visibility="private")
    p.copy.click(None, p.markdown, None, js="(md) => { navigator.clipboard.writeText(md); }")
    p.chatbot.clear(h.clear_chat, None, [p.turns, p.answer_box, p.viewer], api_visibility="private").then(
        h.markdown, p.turns, p.markdown, api_visibility="private")
    p.viewer.click(h.show_source, p.turns, p.viewer, show_progress="hidden", api_visibility="private")
    demo.load(h.briefings, None, p.table, api_name="briefings")
    demo.load(h.context, None, [p.status, p.chatbot, p.filters[2]], api_visibility="private")
    p.refresh.click(h.briefings, None, p.table, api_visibility="private")
    added = p.upload.upload(h.add_files, p.upload, [p.results, p.table, p.upload], api_name="add_files", concurrency_id=MODEL_QUEUE)
    removed = p.remove.click(h.remove_article, p.remove_id, [p.table, p.remove_id], api_name="remove_article", concurrency_id=MODEL_QUEUE)
    fetched = p.fetch.click(h.add_urls, p.urls, [p.results, p.table, p.urls], api_name="add_urls", concurrency_id=MODEL_QUEUE)
    for changed in (added, removed, fetched):  # the status line, the example questions and the outlets follow the index
        changed.then(h.context, None, [p.status, p.chatbot, p.filters[2]], api_visibility="private")
    p.table.select(h.pick_row, None, p.remove_id, api_visibility="private")


def serve(service: BriefingService, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True) -> gr.Blocks:
    """Launch the page (one model run at a time, others queue); print its URL; block unless ``block=False``.

    A non-loopback ``host`` needs the ``auth`` setting ("user:password"); without it nothing is started.
    """
    auth = login(host, service.settings.auth.get_secret_value())
    demo = build_app(service).queue(default_concurrency_limit=1)
    try:
        demo.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=False, css=CSS,
                    footer_links=["api"], max_file_size=int(service.settings.max_upload_mb * 1024 * 1024), auth=auth)
    except OSError:
        raise BriefQAError(f"cannot listen on {host}:{port} (port in use, or not an address of this machine)",
                           "pick another port with --port, or stop the other server") from None
    print(f"briefing-qa chat page: {demo.local_url}  (Ctrl+C to stop)", flush=True)
    if block:
        demo.block_thread()
    return demo


def login(host: str, auth: str) -> tuple[str, str] | None:
    """Gradio's ``auth`` for serving on ``host``: optional on loopback, required anywhere else.

    >>> login("127.0.0.1", ""), login("0.0.0.0", "ana:s3cret")
    (None, ('ana', 's3cret'))
    """
    user, colon, password = auth.partition(":")
    if auth and not (user and colon and password):
        raise BriefQAError("the password setting is not user:password", "pass --auth user:password or set BRIEFQA_AUTH=user:password")
    if not auth and not is_loopback(host):
        raise BriefQAError(
            f"refusing to serve on {host} without a password (anyone who can reach it could read and change the index)",
            "add --auth user:password (or set BRIEFQA_AUTH=user:password), or serve on 127.0.0.1",
        )
    return (user, password) if auth else None


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1); "0.0.0.0" means every interface.

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "", "192.168.1.5", "example.org")]
    [True, True, True, False, False, False, False]
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
