"""``briefqa serve --mcp``: the tools ``ask``, ``check`` and ``list_briefings`` for MCP clients (agents), over Streamable HTTP,
with the official ``mcp`` SDK (``MCPServer``). A thin shell over ``qa``, like the CLI: ``ask`` returns exactly the
JSON of ``briefqa ask --json`` (``qa.records.answer_json``); a user error is the tool's one-line error text.

Connect a client to ``http://127.0.0.1:PORT/mcp`` (loopback only: the server has no authentication), e.g.::

    briefqa serve --mcp --port 8765
    # a client's config: {"mcpServers": {"briefing-qa": {"url": "http://127.0.0.1:8765/mcp"}}}

    from mcp import Client
    async with Client("http://127.0.0.1:8765/mcp") as client:
        result = await client.call_tool("ask", {"question": "Did Russia call Iran an ally?", "sources": ["BBC News"]})
        result.structured_content["citations"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.errors import BriefQAError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.applications import Starlette

    from index.store import StoredArticle
    from qa.assistant import Assistant

LOOPBACK = ("127.0.0.1", "localhost", "::1")
INSTRUCTIONS = (
    "Answers questions over the indexed news briefings with verbatim quotes: every citation's quote is the article text "
    "between its start and end offsets. Refusals (refused: true) mean the briefings do not say. Optional filters: since/until "
    "(YYYY-MM-DD, inclusive; undated articles are left out when a date is given) and sources (exact outlet names, any case; "
    "list_briefings gives them)."
)


def build_server(assistant: Assistant, briefings: Callable[[], Sequence[StoredArticle]]) -> MCPServer:
    """An ``MCPServer`` whose tools answer with ``assistant`` and list ``briefings()``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from index.filters import Filters
    from qa.checker import Checker, CheckerJudge
    from qa.export import briefing_json
    from qa.factcheck import check_claim
    from qa.records import answer_json
    from qa.service import briefing_sources

    server = MCPServer("briefing-qa", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def ask(
        question: str, since: str | None = None, until: str | None = None, sources: list[str] | None = None
    ) -> dict[str, Any]:
        """Answer a question from the news briefings with verified verbatim quotes (the JSON of `briefqa ask --json`).
        since / until: YYYY-MM-DD bounds on the published date; sources: outlet names to answer from."""
        try:
            return answer_json(assistant.ask(question, filters=Filters.parse(since, until, sources or ())))
        except BriefQAError as err:  # the tool's error text: one line, no traceback in the server's log either
            raise ToolError(str(err)) from None

    @server.tool()
    def check(
        claim: str, since: str | None = None, until: str | None = None, sources: list[str] | None = None
    ) -> dict[str, Any]:
        """Find the quotes of the briefings that support or contradict a claim, each with its label and probability
        from the checker (the JSON of `briefqa check --json`). since / until / sources: as for ask."""
        try:
            judge = CheckerJudge(Checker.load())
            return check_claim(claim, assistant.retriever, judge, Filters.parse(since, until, sources or ())).json()
        except BriefQAError as err:
            raise ToolError(str(err)) from None

    @server.tool()
    def list_briefings() -> dict[str, Any]:
        """The indexed briefings, newest first (id, title, source, published, url, path, chunks), and the outlets."""
        entries = briefings()
        return {"briefings": [briefing_json(e) for e in entries], "sources": briefing_sources(entries)}

    return server


def check_host(host: str) -> None:
    """Refuse to listen beyond loopback: the MCP server has no authentication.

    >>> check_host("127.0.0.1")
    """
    if host not in LOOPBACK:
        cause = f"the MCP server would listen on {host}, but it has no authentication"
        raise BriefQAError(cause, "serve it on 127.0.0.1 (the default)")


def app(assistant: Assistant, briefings: Callable[[], Sequence[StoredArticle]], host: str = "127.0.0.1") -> Starlette:
    """The ASGI app serving the tools at ``/mcp`` (DNS-rebinding protection on, for a loopback ``host``)."""
    check_host(host)
    return build_server(assistant, briefings).streamable_http_app(host=host)


def serve(assistant: Assistant, briefings: Callable[[], Sequence[StoredArticle]], host: str, port: int) -> None:
    """Serve the tools at ``http://HOST:PORT/mcp`` until Ctrl+C."""
    import uvicorn

    asgi = app(assistant, briefings, host)
    print(f"MCP tools ask, check, list_briefings at http://{host}:{port}/mcp (Ctrl+C stops)", flush=True)
    uvicorn.run(asgi, host=host, port=port, log_level="warning")
