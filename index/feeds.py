"""URLs into documents: a page becomes one ``RawDoc``; an RSS 2.0 or Atom feed (feedparser) one per item.

Each item's link (relative links resolved against the feed's URL) is fetched and extracted like any
page; the item's title and published date stand in when the page has none, and the feed's title is
the outlet when the page names none. An item whose page cannot be fetched keeps the feed's own summary,
as a document of kind ``"summary"`` whose note says why; without a summary it is one rejected result.
The article's path is its URL (the link as the feed gives it), so a page that changes at its URL
replaces its older version, and an unchanged one is a no-op (content hash).

>>> rss = b'''<rss version="2.0"><channel><title>World</title><item><title>Vote</title>
... <link>/news/vote.html</link><pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>
... <description>&lt;p&gt;The council voted.&lt;/p&gt;</description></item></channel></rss>'''
>>> feed = parse_feed(rss, "https://feeds.example.org/world.xml")
>>> feed.title, feed.items[0].link, feed.items[0].published, feed.items[0].summary
('World', 'https://feeds.example.org/news/vote.html', '2026-11-24', 'The council voted.')
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html

from index.defang import defang
from index.fetch import Fetched, Fetcher, FetchFailure
from index.load import load_page
from index.records import FileResult, RawDoc

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(item: object) -> bool:
    """Whether an ``index add`` argument is a URL (any ``scheme://``) rather than a path.

    >>> is_url("https://feeds.example.org/world.xml"), is_url("ftp://x/y"), is_url("briefings/a.txt")
    (True, True, False)
    """
    return isinstance(item, str) and bool(_URL.match(item))


@dataclass(frozen=True)
class FeedItem:
    """One item of a feed: its absolute link, and what the feed says about it (all optional)."""

    key: str  # the link, else the item's id, else its position
    link: str | None
    title: str | None
    published: str | None  # ISO date
    summary: str | None  # plain text


@dataclass(frozen=True)
class Feed:
    url: str
    title: str | None
    items: tuple[FeedItem, ...]


def parse_feed(body: bytes, url: str) -> Feed | None:
    """The feed in ``body`` (fetched from ``url``), or None when it is not an RSS/Atom feed."""
    parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": "application/xml"})
    if not parsed.get("version") and not parsed.entries:
        return None
    items = tuple(_item(entry, url, n) for n, entry in enumerate(parsed.entries, start=1))
    return Feed(url, defang(parsed.feed.get("title") or "").strip() or None, items)


def _item(entry: feedparser.FeedParserDict, feed_url: str, n: int) -> FeedItem:
    link = (entry.get("link") or "").strip()
    link = urljoin(feed_url, link) if link else None
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    summary = entry.get("summary") or ""
    if summary and (entry.get("summary_detail") or {}).get("type", "text/html") != "text/plain":
        summary = _text_of(summary)
    return FeedItem(  # text addressed to the model is taken out here, as from every file format (index.defang)
        key=link or entry.get("id") or f"{feed_url}#{n}",
        link=link,
        title=defang(entry.get("title") or "").strip() or None,
        published=time.strftime("%Y-%m-%d", when) if when else None,
        summary=" ".join(defang(summary).split()) or None,
    )


def _text_of(fragment: str) -> str:
    try:
        return lxml.html.fromstring(f"<div>{fragment}</div>").text_content()
    except (ValueError, lxml.etree.ParserError):
        return fragment


def iter_url_documents(urls: Iterable[str], fetcher: Fetcher) -> Iterator[RawDoc | FileResult]:
    """A ``RawDoc`` per page (a feed: per item) and a rejected ``FileResult`` per URL that failed, in order."""
    for url in urls:
        got = fetcher.fetch(url)
        if isinstance(got, FetchFailure):
            yield FileResult(url, "rejected", got.reason)
        elif got.is_feed:
            feed = parse_feed(got.body, got.final_url)
            if feed is None:
                yield FileResult(url, "rejected", "not a readable RSS or Atom feed")
            elif not feed.items:
                yield FileResult(url, "skipped", "the feed has no items")
            else:
                yield from (_item_document(item, feed, fetcher) for item in feed.items)
        else:
            page = load_page(url, got.body, url=got.final_url, charset=got.charset)
            yield page if isinstance(page, FileResult) else _with_outlet(page, got, None)


def _item_document(item: FeedItem, feed: Feed, fetcher: Fetcher) -> RawDoc | FileResult:
    """The item's page with the feed's title, date and outlet where the page has none; else its summary."""
    if item.link is None:
        return _summary(item, feed, "the item has no link")
    got = fetcher.fetch(item.link)
    if isinstance(got, FetchFailure):
        return _summary(item, feed, got.reason)
    if got.is_feed:
        return _summary(item, feed, "its link is a feed, not an article")
    page = load_page(item.link, got.body, url=got.final_url, charset=got.charset)
    if isinstance(page, FileResult):
        return _summary(item, feed, page.reason)
    title = page.title if page.title and _declared(page.title, got.body) else item.title or page.title
    page = replace(page, title=title, published=page.published or item.published)
    return _with_outlet(page, got, feed.title)


def _declared(title: str, body: bytes) -> bool:
    """Whether the page itself names ``title`` (in ``<title>``, ``<h1>`` or ``og:title``), rather than
    trafilatura taking it from some other heading (a sidebar's "Most read") for want of one."""
    try:
        root = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return False
    named = [e.text_content() for e in root.xpath("//title | //h1")] + root.xpath("//meta[@property='og:title']/@content")
    wanted = " ".join(title.split()).casefold()
    return any(wanted in " ".join(str(n).split()).casefold() for n in named)


def _with_outlet(page: RawDoc, got: Fetched, feed_title: str | None) -> RawDoc:
    """When the page names no outlet (trafilatura's site name is missing or only the URL's host):
    the feed's title, else the host name."""
    parts = urlsplit(got.final_url)
    if page.source and page.source not in {parts.netloc, parts.hostname}:
        return page
    return replace(page, source=feed_title or parts.hostname or page.source)


def _summary(item: FeedItem, feed: Feed, why: str) -> RawDoc | FileResult:
    path = item.link or item.key
    if not item.summary:
        return FileResult(path, "rejected", why)
    return RawDoc(
        path=path, text=item.summary, title=item.title, source=feed.title, url=item.link,
        published=item.published, structured=True, kind="summary", note=f"the page: {why}",
    )
