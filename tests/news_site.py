"""A news site on loopback for tests/test_fetch.py: real BBC articles (``fixtures/web``) as pages with
navigation, ads and scripts, an RSS 2.0 and an Atom feed (dates, relative links), and pages that fail: a
link to a closed port, a 404, a slow page, oversized pages, a trickling page, a PDF, redirects and loops."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import free_port

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"
RSS_TITLE, ATOM_TITLE = "BBC News - World", "BBC News - Business and Technology"


def article(name: str) -> tuple[str, list[str]]:
    """(headline, paragraphs) of a fixture article."""
    headline, _, body = (FIXTURES / f"bbc-{name}.txt").read_text(encoding="utf-8").partition("\n")
    return headline.strip(), [p.strip() for p in body.split("\n") if p.strip()]


def page(name: str, *, heading: bool = True, date: str | None = None, site: str | None = None, extra: str = "") -> bytes:
    """The article as a news page: head scripts and styles, a nav bar, an ad, a sidebar and a footer around it."""
    headline, paragraphs = article(name)
    meta = f'<meta property="article:published_time" content="{date}T09:00:00Z">' if date else ""
    meta += f'<meta property="og:site_name" content="{site}">' if site else ""
    title = f"<title>{html.escape(headline)} - BBC News</title>" if heading else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs + ([extra] if extra else []))
    h1 = f"<h1>{html.escape(headline)}</h1>" if heading else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{title}{meta}
<script>window.dataLayer = [{{"page": "article"}}]; function track() {{ return "Click here to subscribe"; }}</script>
<style>.ad {{ color: red }}</style></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li></ul></nav></header>
<div class="advert" id="ad-top">Advertisement <script>ads.push({{slot: "top"}})</script><a href="/ad">Cheap flights to Rome from £9!</a></div>
<main><article>{h1}{body}</article></main>
<aside><h2>Most read</h2><ul><li><a href="/x">Man bites dog in Leeds</a></li><li><a href="/y">Ten recipes for the weekend</a></li></ul></aside>
<footer><p>Copyright 2005 BBC. <a href="/terms">Terms of use</a> <a href="/privacy">Privacy</a></p></footer>
<script src="/static/analytics.js"></script></body></html>""".encode()


@dataclass
class Route:
    body: bytes
    ctype: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0
    length: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between 64-byte pieces of the body


class Site(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []  # (path, User-Agent)
        self.release = threading.Event()  # ends slow responses at teardown
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append((self.path, self.headers.get("User-Agent", "")))
        if self.path.startswith("/loop/"):
            route = Route(b"", status=302, headers={"Location": f"/loop/{int(self.path.rsplit('/', 1)[1]) + 1}"})
        else:
            route = self.server.routes.get(self.path, Route(b"<html><body><p>Not found</p></body></html>", status=404))
        if route.delay:
            self.server.release.wait(route.delay)
        self.send_response(route.status)
        self.send_header("Content-Type", route.ctype)
        for key, value in route.headers.items():
            self.send_header(key, value)
        if route.length:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        try:
            for lo in range(0, len(route.body), 64 if route.trickle else max(len(route.body), 1)):
                self.wfile.write(route.body[lo : lo + 64] if route.trickle else route.body)
                self.wfile.flush()
                if route.trickle and self.server.release.wait(route.trickle):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher stopped reading: too large, or timed out

    def log_message(self, *args: object) -> None:
        pass


def rss(site: Site, dead: str) -> bytes:
    items = [
        ("Abbas 'will not tolerate' attacks", "/news/abbas.html", "Wed, 12 Jan 2005 08:00:00 GMT", ""),
        ("Amnesty chief laments war failure", "../news/amnesty.html", "Thu, 13 Jan 2005 09:30:00 GMT", ""),
        ("Act on detention ruling, UK urged", "../news/detention.html", "Fri, 14 Jan 2005 10:00:00 GMT", ""),
        ("Gone story", f"{dead}/gone.html", "Sat, 15 Jan 2005 10:00:00 GMT", "<p>The minister resigned on Friday, <b>aides said</b>.</p>"),
        ("Missing story", "/missing.html", "Sun, 16 Jan 2005 10:00:00 GMT", "Talks on the budget will resume next week."),
        ("Slow story", "/slow.html", "Mon, 17 Jan 2005 10:00:00 GMT", ""),
        ("Huge story", "/big.html", "Tue, 18 Jan 2005 10:00:00 GMT", ""),
        ("A report", "/report.pdf", "Wed, 19 Jan 2005 10:00:00 GMT", ""),
    ]
    xml = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link><pubDate>{d}</pubDate>"
        + (f"<description>{html.escape(s)}</description>" if s else "") + "</item>"
        for t, link, d, s in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{RSS_TITLE}</title><link>{site.url}/</link>{xml}</channel></rss>'.encode()


ATOM = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{ATOM_TITLE}</title>
<id>urn:bbc:business-tech</id><updated>2005-02-21T10:00:00Z</updated>
<entry><title>Ad firm WPP's profits surge 15%</title><link href="../news/wpp.html"/><id>urn:1</id>
<published>2005-02-18T08:00:00Z</published><updated>2005-02-18T08:00:00Z</updated></entry>
<entry><title>Anti-spam screensaver scrapped</title><link rel="alternate" href="../news/spam.html"/><id>urn:2</id>
<published>2005-02-20T08:00:00Z</published><updated>2005-02-20T08:00:00Z</updated></entry>
<entry><title>Ajax refuse to rule out Jol move</title><link href="/news/ajax.html"/><id>urn:3</id>
<updated>2005-02-21T08:00:00Z</updated></entry></feed>""".encode()


@contextmanager
def serving() -> Iterator[Site]:
    """The news site on a free loopback port, in a thread, for as long as the ``with`` lasts."""
    server = Site()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    server.routes.update({
        "/news/abbas.html": Route(page("abbas-will-not-tolerate-attacks", date="2005-01-12", site="BBC News")),
        "/news/amnesty.html": Route(page("amnesty-chief-laments-war-failure")),
        "/news/detention.html": Route(page("act-on-detention-ruling-uk-urged", heading=False)),
        "/news/wpp.html": Route(page("ad-firm-wpp-s-profits-surge-15", date="2005-02-17", site="BBC News")),
        "/news/spam.html": Route(page("anti-spam-screensaver-scrapped")),
        "/news/ajax.html": Route(page("ajax-refuse-to-rule-out-jol-move", heading=False)),
        "/slow.html": Route(page("abbas-will-not-tolerate-attacks"), delay=5.0),
        "/big.html": Route(b"<html><body>" + b"<p>Filler text for a huge page.</p>" * 4000 + b"</body></html>"),
        "/big-stream.html": Route(b"<html><body>" + b"<p>Filler text for a huge page.</p>" * 4000 + b"</body></html>", length=False),
        "/trickle.html": Route(page("abbas-will-not-tolerate-attacks"), trickle=0.02),
        "/report.pdf": Route(b"%PDF-1.4 fake", ctype="application/pdf"),
        "/go/abbas": Route(b"", status=302, headers={"Location": "/news/abbas.html"}),
        "/feeds/rss.xml": Route(rss(server, dead), ctype="application/rss+xml"),
        "/feeds/atom.xml": Route(ATOM, ctype="application/atom+xml; charset=utf-8"),
        "/feeds/plain.xml": Route(rss(server, dead), ctype="text/xml"),  # a feed sent as generic XML: sniffed
    })
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
