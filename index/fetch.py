"""Fetch web pages and feeds politely and safely (httpx): one ``Fetched`` or one ``FetchFailure`` per URL.

Polite: a User-Agent naming the project; at most one request per ``fetch_host_interval_s`` to a host.
Safe: http and https only; every hop's host is resolved and each of its addresses checked (loopback,
private, link-local, unspecified, multicast, reserved or otherwise non-public: refused unless
``allow_private``), then the request goes to the checked address, so the name cannot resolve elsewhere
in between; at most ``MAX_REDIRECTS`` redirects, each hop checked the same way; connect and read timeouts;
the body is streamed and the download stops at ``fetch_max_mb`` or ``fetch_total_timeout_s``; only HTML,
XHTML and feed (RSS, Atom, XML) content types are read. No proxy from the environment is used (it would
bypass the address check). docs/fetching.md says what is refused and how to allow it.

>>> f = Fetcher(Settings(embedder="hash"))
>>> f.fetch("http://10.0.0.7/news.html").reason
'refused address 10.0.0.7 (private network): set BRIEFQA_FETCH_ALLOW_PRIVATE=1 or pass --allow-private to fetch it'
>>> f.fetch("ftp://example.org/a").reason
"bad URL: scheme 'ftp' (http and https only)"
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import httpx

from core.settings import Settings

MAX_REDIRECTS = 5
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml"})
XML_TYPES = frozenset({"application/xml", "text/xml"})
_ACCEPT = "text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9"
_MB = 1024 * 1024
_SNIFF = 2048


def user_agent(contact: str = "") -> str:
    """``briefing-qa/<version>``, with ``(+contact)`` when the user gave one (``BRIEFQA_FETCH_CONTACT``): who is
    fetching, and how a site operator reaches them. No address is made up.

    >>> user_agent("mailto:desk@example.org").endswith(" (+mailto:desk@example.org)")
    True
    """
    try:
        version = metadata.version("briefing-qa")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"briefing-qa/{version}" + (f" (+{contact.strip()})" if contact.strip() else "")


@dataclass(frozen=True)
class Fetched:
    """A page or feed that passed every check. ``url`` as asked; ``final_url`` after redirects."""

    url: str
    final_url: str
    content_type: str  # the media type, lower case, without parameters ("" when the server sent none)
    charset: str | None
    body: bytes

    @property
    def is_feed(self) -> bool:
        """RSS/Atom by content type, or XML (or an HTML type) whose opening holds a feed's root element."""
        if self.content_type in FEED_TYPES:
            return True
        head = self.body[:_SNIFF].lower()
        return (b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head) and b"<html" not in head


@dataclass(frozen=True)
class FetchFailure:
    """Why one URL could not be used; ``reason`` is one line for the user."""

    url: str
    kind: str  # "bad-url" | "refused" | "timeout" | "network" | "http" | "redirects" | "not-html" | "too-large"
    reason: str


class _Failed(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``getaddrinfo``), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str) -> str | None:
    """Why ``address`` must not be fetched by default, or None for a public address.

    >>> [refusal(a) for a in ("93.184.216.34", "127.0.0.1", "192.168.1.4", "169.254.169.254", "::ffff:10.0.0.1")]
    [None, 'loopback', 'private network', 'link-local', 'private network']
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for check, name in (("is_loopback", "loopback"), ("is_link_local", "link-local"), ("is_unspecified", "unspecified"),
                        ("is_multicast", "multicast"), ("is_private", "private network"), ("is_reserved", "reserved")):
        if getattr(ip, check):
            return name
    return None if ip.is_global else "not a public address"


class HostPacer:
    """At most one request per ``interval`` seconds to each host (waits with ``sleep``, reads ``clock``).

    >>> now, waits = [0.0], []
    >>> pacer = HostPacer(1.0, clock=lambda: now[0], sleep=waits.append)
    >>> pacer.wait("a"); pacer.wait("b"); pacer.wait("a"); waits
    [1.0]
    """

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval, self._clock, self._sleep = interval, clock, sleep
        self._next: dict[str, float] = {}

    def wait(self, host: str) -> None:
        now = self._clock()
        due = self._next.get(host, now)
        if due > now:
            self._sleep(due - now)
        self._next[host] = max(now, due) + self.interval


class Fetcher:
    """Fetches URLs one at a time under the ``fetch_*`` settings; ``fetch`` never raises for a bad URL or server.

    ``resolve`` and ``transport`` are for tests (a fake resolver, ``httpx.MockTransport``)."""

    def __init__(self, settings: Settings, *, allow_private: bool | None = None, resolve: Resolver = resolve,
                 transport: httpx.BaseTransport | None = None, pacer: HostPacer | None = None) -> None:
        self.settings = settings
        self.allow_private = settings.fetch_allow_private if allow_private is None else allow_private
        self._resolve = resolve
        self._pacer = pacer or HostPacer(settings.fetch_host_interval_s)
        self._limit = int(settings.fetch_max_mb * _MB)
        timeout = httpx.Timeout(settings.fetch_read_timeout_s, connect=settings.fetch_connect_timeout_s)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, transport=transport,
            headers={"User-Agent": user_agent(settings.fetch_contact), "Accept": _ACCEPT},
            limits=httpx.Limits(max_keepalive_connections=0),  # a connection is pinned to one checked name
        )

    def fetch(self, url: str) -> Fetched | FetchFailure:
        """The page or feed at ``url`` (redirects followed, each hop checked), or why not."""
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                got = self._hop(url, current)
                if isinstance(got, Fetched):
                    return got
                current = got
            raise _Failed("redirects", f"too many redirects (more than {MAX_REDIRECTS})")
        except _Failed as err:
            return FetchFailure(url, err.kind, err.reason)

    def close(self) -> None:
        self._client.close()

    def _hop(self, asked: str, current: str) -> Fetched | str:
        """One request: the ``Fetched`` page, or the next URL of a redirect. The host's checked addresses
        are tried in turn while a connection is refused or fails (``localhost`` may be ``::1`` first)."""
        target = _parse(current)
        addresses = self._checked_addresses(target)
        self._pacer.wait(target.host)
        for address in addresses[:-1]:
            try:
                return self._request(asked, current, target, address)
            except httpx.ConnectError:
                continue
        try:
            return self._request(asked, current, target, addresses[-1])
        except httpx.ConnectError as err:
            raise _Failed("network", f"cannot fetch: {_network_reason(err)}") from None

    def _request(self, asked: str, current: str, target: httpx.URL, address: str) -> Fetched | str:
        """GET ``target`` from ``address`` (the ``Host`` header and TLS server name stay the URL's)."""
        headers = {"Host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            with self._client.stream("GET", target.copy_with(host=address), headers=headers, extensions=extensions) as response:
                if response.is_redirect and "location" in response.headers:
                    return str(target.join(response.headers["location"]))
                if response.status_code >= 300:
                    raise _Failed("http", f"HTTP {response.status_code}{_phrase(response)}")
                media, charset = _content_type(response.headers.get("content-type", ""))
                if media and media not in PAGE_TYPES | FEED_TYPES | XML_TYPES:
                    raise _Failed("not-html", f"not HTML or a feed (content type {media})")
                body = self._body(response)
        except httpx.ConnectError:
            raise
        except httpx.TimeoutException as err:
            raise _Failed("timeout", _timeout_reason(err, self.settings)) from None
        except httpx.HTTPError as err:
            raise _Failed("network", f"cannot fetch: {_network_reason(err)}") from None
        return Fetched(asked, current, media, charset, body)

    def _checked_addresses(self, url: httpx.URL) -> list[str]:
        """Every address the host resolves to; one that may not be fetched refuses the URL."""
        try:
            addresses = self._resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
        except (OSError, UnicodeError) as err:
            raise _Failed("network", f"cannot resolve host {url.host!r}: {getattr(err, 'strerror', None) or err}") from None
        if not addresses:
            raise _Failed("network", f"cannot resolve host {url.host!r}")
        if not self.allow_private:
            for address in addresses:
                why = refusal(address)
                if why:
                    raise _Failed("refused", f"refused address {address} ({why}): "
                                  "set BRIEFQA_FETCH_ALLOW_PRIVATE=1 or pass --allow-private to fetch it")
        return addresses

    def _body(self, response: httpx.Response) -> bytes:
        """The body, or ``too-large`` as soon as it is known (Content-Length) or seen (while streaming)."""
        too_large = f"too large: over the {self.settings.fetch_max_mb:g} MB limit (BRIEFQA_FETCH_MAX_MB)"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._limit:
            raise _Failed("too-large", f"too large: {int(declared) / _MB:.1f} MB, over the {self.settings.fetch_max_mb:g} MB limit "
                                       "(BRIEFQA_FETCH_MAX_MB)")
        parts, size = [], 0
        deadline = time.monotonic() + self.settings.fetch_total_timeout_s
        for part in response.iter_bytes():
            size += len(part)
            if size > self._limit:
                raise _Failed("too-large", too_large)
            if time.monotonic() > deadline:
                raise _Failed("timeout", f"timeout: not downloaded within {self.settings.fetch_total_timeout_s:g} s "
                                         "(BRIEFQA_FETCH_TOTAL_TIMEOUT_S)")
            parts.append(part)
        return b"".join(parts)


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as err:
        raise _Failed("bad-url", f"bad URL: {err}") from None
    if parsed.scheme not in ("http", "https"):
        raise _Failed("bad-url", f"bad URL: scheme {parsed.scheme!r} (http and https only)")
    if not parsed.host:
        raise _Failed("bad-url", "bad URL: no host")
    return parsed


def _content_type(header: str) -> tuple[str, str | None]:
    """``("text/html", "utf-8")`` from ``text/html; charset=UTF-8``."""
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return media.strip().lower(), charset


def _phrase(response: httpx.Response) -> str:
    return f" {response.reason_phrase}" if response.reason_phrase else ""


def _timeout_reason(err: httpx.TimeoutException, settings: Settings) -> str:
    if isinstance(err, httpx.ConnectTimeout):
        return f"timeout: no connection within {settings.fetch_connect_timeout_s:g} s (BRIEFQA_FETCH_CONNECT_TIMEOUT_S)"
    return f"timeout: no answer within {settings.fetch_read_timeout_s:g} s (BRIEFQA_FETCH_READ_TIMEOUT_S)"


def _network_reason(err: httpx.HTTPError) -> str:
    text = str(err) or type(err).__name__
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0][:200]
