"""``briefqa serve --mcp``: the tools ``ask``, ``check`` and ``list_briefings`` for MCP clients (agents), over Streamable HTTP,
with the official ``mcp`` SDK (``MCPServer``). A thin shell over ``qa``, like the CLI: ``ask`` returns exactly the
JSON of ``briefqa ask --json`` (``qa.records.answer_json``); a user error is the tool's one-line error text.

Connect a client to ``http://127.0.0.1:PORT/mcp``; beyond loopback (``--host 0.0.0.0``) the server needs a bearer token
(``BRIEFQA_MCP_TOKEN`` or ``BRIEFQA_MCP_TOKEN_FILE``) and answers a request without ``Authorization: Bearer <token>``
with HTTP 401, e.g.::

    briefqa serve --mcp --port 8765
    BRIEFQA_MCP_TOKEN_FILE=/etc/briefqa/mcp-token briefqa serve --mcp --host 0.0.0.0 --port 8765
    # a client's config: {"mcpServers": {"briefing-qa": {"url": "http://127.0.0.1:8765/mcp"}}}

    from mcp import Client
    async with Client("http://127.0.0.1:8765/mcp") as client:
        result = await client.call_tool("ask", {"question": "Did Russia call Iran an ally?", "sources": ["BBC News"]})
        result.structured_content["citations"]
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BriefQAError
from core.settings import Settings

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
            filters = Filters.parse(since, until, sources or ())
            return check_claim(claim, assistant.retriever, judge, filters, assistant.settings.check_min_p).json()
        except BriefQAError as err:
            raise ToolError(str(err)) from None

    @server.tool()
    def list_briefings() -> dict[str, Any]:
        """The indexed briefings, newest first (id, title, source, published, url, path, chunks), and the outlets."""
        entries = briefings()
        return {"briefings": [briefing_json(e) for e in entries], "sources": briefing_sources(entries)}

    return server


def check_host(host: str, token: str = "") -> None:
    """Refuse to listen beyond loopback without a bearer token (loopback needs none, as before).

    >>> check_host("127.0.0.1"), check_host("0.0.0.0", token="s3cret")
    (None, None)
    """
    if host not in LOOPBACK and not token:
        cause = f"the MCP server would listen on {host} with no authentication (no bearer token is set)"
        raise BriefQAError(cause, "set BRIEFQA_MCP_TOKEN (or BRIEFQA_MCP_TOKEN_FILE to a file holding it), or serve on 127.0.0.1")


def mcp_token(settings: Settings) -> str:
    """The bearer token from ``BRIEFQA_MCP_TOKEN``, else from the file ``BRIEFQA_MCP_TOKEN_FILE`` names ("" if neither)."""
    token = settings.mcp_token.get_secret_value().strip()
    if token or not settings.mcp_token_file:
        return token
    try:
        token = Path(settings.mcp_token_file).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise BriefQAError(f"cannot read the MCP token file {settings.mcp_token_file}: {err.strerror or err}",
                           "point BRIEFQA_MCP_TOKEN_FILE at a readable file holding the token") from None
    if not token:
        raise BriefQAError(f"the MCP token file {settings.mcp_token_file} is empty", "write the token into it (e.g. openssl rand -hex 32)")
    return token


class BearerAuth:
    """ASGI middleware: an HTTP request without ``Authorization: Bearer <token>`` gets 401 (compared in constant time)."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self._app, self._expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = b'{"error": "unauthorized: send Authorization: Bearer <token> (BRIEFQA_MCP_TOKEN)"}'
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self._app(scope, receive, send)


def app(assistant: Assistant, briefings: Callable[[], Sequence[StoredArticle]], host: str = "127.0.0.1", token: str = "") -> Starlette | BearerAuth:
    """The ASGI app serving the tools at ``/mcp`` (DNS-rebinding protection on, for a loopback ``host``); with a
    ``token``, every request must carry it."""
    check_host(host, token)
    tools = build_server(assistant, briefings).streamable_http_app(host=host)
    return BearerAuth(tools, token) if token else tools


def serve(assistant: Assistant, briefings: Callable[[], Sequence[StoredArticle]], host: str, port: int, token: str = "") -> None:
    """Serve the tools at ``http://HOST:PORT/mcp`` until Ctrl+C."""
    import uvicorn

    asgi = app(assistant, briefings, host, token)
    needs = " (clients send Authorization: Bearer <token>)" if token else ""
    print(f"MCP tools ask, check, list_briefings at http://{host}:{port}/mcp{needs} (Ctrl+C stops)", flush=True)
    uvicorn.run(asgi, host=host, port=port, log_level="warning")
