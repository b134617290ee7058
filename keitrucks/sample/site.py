"""The sample marketplace on disk and over HTTP.

A night of the sample is a folder ``data/sample/night<N>/`` of pages plus ``routes.json``, which
maps each request target (path and query, normalized) to a page file, its content type and its
HTTP status. :class:`SampleServer` serves it on 127.0.0.1 so spiders crawl it through the real
Scrapy downloader, exactly as they would crawl the live sites under ``base_url``. For fault tests it
can also misbehave as real sites do (:data:`FAULTS`): reset connections, cut bodies short, answer
garbage, challenges, login redirects, or the wrong content type, every time or only at first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from keitrucks.sample import bundle

logger = logging.getLogger(__name__)

#: The sample marketplace: data/sample/ of a checkout, else rendered once into the user's cache.
SAMPLE_DIR = bundle.sample_dir()
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"

#: What :meth:`SampleServer.fault` can make a target do, and how a client sees it.
FAULTS = {
    "status": "an error status (``status``, e.g. 429 or 503) with ``headers`` (Retry-After ...)",
    "slow": "the real page after ``delay`` seconds (a timeout when longer than the client waits)",
    "reset": "the connection reset (TCP RST) before any byte of the answer",
    "truncate": "the real page's headers and Content-Length, then half its body and a close",
    "garbage": "200 text/html of random bytes",
    "empty": "200 text/html with an empty body",
    "challenge": "a small bot-check page (``status`` 200 by default; real sites also use 202/403)",
    "login_redirect": "302 to a login page (``/account/login``), which answers 200",
    "json": "200 application/json where the page is HTML",
    "html": "200 text/html (an error page) where the answer is JSON",
}
#: Where ``login_redirect`` sends the client; the server answers it with :data:`LOGIN_PAGE`.
LOGIN_PATH = "/account/login"
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b"<form method='post' action='/account/login'><input name='user'><input name='password'"
    b" type='password'><button>Sign in</button></form></body></html>"
)
CHALLENGE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<div id='cf-challenge'>Checking your browser before accessing the site.</div>"
    b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script></body></html>"
)
ERROR_PAGE = b"<!DOCTYPE html><html><body><h1>Something went wrong</h1></body></html>"
JSON_ANSWER = b'{"status": "ok", "message": "use the app", "items": []}'
NOT_FOUND = (404, "text/html", b"<html><body>Not found</body></html>", {})
#: ``GET /_sample/night?n=<N>`` makes the server serve night N from then on: a crawl process
#: that crawls several nights in a row turns the page itself (``keitrucks.demo_crawl``).
NIGHT_CONTROL = "/_sample/night"


@dataclass(frozen=True)
class Route:
    #: "/<source>/<host>/path?query" as the spider requests it under its base_url.
    target: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200


def normalize_target(target: str) -> str:
    """Path plus query with parameters sorted, so equivalent URLs find the same page."""
    parts = urlsplit(target)
    path = parts.path or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{path}?{query}" if query else path


def _file_name(target: str, content_type: str) -> str:
    parts = urlsplit(target)
    path = parts.path.strip("/") or "index"
    ext = ".json" if "json" in content_type else ".html"
    if parts.query:
        path += "__" + hashlib.sha1(parts.query.encode()).hexdigest()[:10]
    return path.replace("/", "__")[:180] + ext


def write_night(routes: list[Route], folder: Path) -> None:
    """Write one night's pages and its ``routes.json`` into ``folder`` (replacing it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    table = {}
    for route in routes:
        key = normalize_target(route.target)
        if key in table:
            raise ValueError(f"two pages for {key}")
        name = _file_name(key, route.content_type)
        (folder / name).write_bytes(route.body)
        table[key] = {"file": name, "type": route.content_type, "status": route.status}
    (folder / "routes.json").write_text(
        json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def load_routes(folder: Path) -> dict[str, dict]:
    return json.loads((folder / "routes.json").read_text(encoding="utf-8"))


class _QuietServer(ThreadingHTTPServer):
    """Faults break connections on purpose: log their errors instead of printing tracebacks."""

    def handle_error(self, request, client_address) -> None:
        logger.debug(
            "sample server: connection from %s ended with an error", client_address, exc_info=True
        )


class SampleServer:
    """Serve sample nights on 127.0.0.1 (a free port). Use as a context manager.

    ``night`` picks the folder served and can change between crawls; ``override`` replaces one
    target's answer (status, body, headers, delay) for fault tests; ``fault`` makes a target
    misbehave in one of the ways of :data:`FAULTS`, optionally only for its first requests;
    ``hits(target)`` counts the requests a target received.
    """

    def __init__(
        self,
        root: Path = SAMPLE_DIR,
        night: int = 1,
        render: Callable[[int], list[Route]] | None = None,
    ):
        self.root = Path(root)
        self.night = night
        #: night number -> its pages, rendered in memory (on first request) instead of read
        #: from ``root/night<N>/``: the demo's months of history are never written to disk.
        self.render = render
        self._rendered: dict[int, dict[str, Route]] = {}
        self.overrides: dict[str, dict] = {}
        self.requests: list[str] = []
        #: (n, seconds): every request after the n-th waits this long (a site slowing down).
        self.slow_after: tuple[int, float] | None = None
        self._routes_cache: dict[int, dict] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self.faults: dict[str, dict] = {}
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _rendered_night(self, night: int) -> dict[str, Route]:
        with self._lock:
            if night not in self._rendered:
                assert self.render is not None
                self._rendered[night] = {
                    normalize_target(route.target): route for route in self.render(night)
                }
            return self._rendered[night]

    def routes(self) -> dict[str, dict]:
        if self.night not in self._routes_cache:
            self._routes_cache[self.night] = load_routes(self.root / f"night{self.night}")
        return self._routes_cache[self.night]

    def override(
        self,
        target: str,
        *,
        status: int = 200,
        body: bytes = b"",
        content_type: str = "text/html",
        headers: dict | None = None,
        delay: float = 0.0,
    ) -> None:
        self.overrides[normalize_target(target)] = {
            "status": status,
            "body": body,
            "type": content_type,
            "headers": headers or {},
            "delay": delay,
        }

    def fault(
        self,
        target: str,
        kind: str,
        *,
        times: int | None = None,
        status: int | None = None,
        headers: dict | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make ``target`` misbehave as ``kind`` (a key of :data:`FAULTS`).

        ``times``: only the first ``times`` requests of the target misbehave, later ones get the
        real page (a transient fault); None means every request. ``status`` applies to "status"
        and "challenge", ``headers`` are added to the answer, ``delay`` is for "slow".
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        if kind == "status" and status is None:
            raise ValueError("a 'status' fault needs status=...")
        self.faults[normalize_target(target)] = {
            "kind": kind,
            "left": times,
            "status": status,
            "headers": headers or {},
            "delay": delay,
        }

    def hits(self, target: str) -> int:
        """How many requests ``target`` (normalized) has received so far."""
        with self._lock:
            return self._hits[normalize_target(target)]

    def _take_fault(self, target: str) -> dict | None:
        """The fault to play for this request of ``target``, counting it down; None: serve."""
        key = normalize_target(target)
        with self._lock:
            self._hits[key] += 1
            spec = self.faults.get(key)
            if spec is None or spec["left"] == 0:
                return None
            if spec["left"] is not None:
                spec["left"] -= 1
            return spec

    def fault_answer(self, target: str, spec: dict) -> tuple[int, str, bytes, dict] | None:
        """(status, type, body, headers) of a content-level fault; None for transport faults."""
        kind, extra = spec["kind"], dict(spec["headers"])
        if kind == "status":
            return spec["status"], "text/html", ERROR_PAGE, extra
        if kind == "garbage":
            seed = int.from_bytes(hashlib.sha1(target.encode()).digest()[:8], "big")
            return 200, "text/html", random.Random(seed).randbytes(4096), extra
        if kind == "empty":
            return 200, "text/html", b"", extra
        if kind == "challenge":
            return spec["status"] or 200, "text/html", CHALLENGE_PAGE, extra
        if kind == "login_redirect":
            location = f"{LOGIN_PATH}?return_to={quote(target, safe='')}"
            return 302, "text/html", b"", {"Location": location, **extra}
        if kind == "json":
            return 200, "application/json", JSON_ANSWER, extra
        if kind == "html":
            return 200, "text/html; charset=utf-8", ERROR_PAGE, extra
        return None

    def _turn_to(self, night: str) -> tuple[int, str, bytes, dict]:
        if not night.isdigit():
            return 400, "text/plain", b"n must be a night number", {}
        self.night = int(night)
        return 200, "text/plain", f"night {self.night}".encode(), {}

    def answer(self, target: str) -> tuple[int, str, bytes, dict]:
        key = normalize_target(target)
        if self.slow_after and len(self.requests) > self.slow_after[0]:
            threading.Event().wait(self.slow_after[1])
        if key in self.overrides:
            o = self.overrides[key]
            if o["delay"]:
                threading.Event().wait(o["delay"])
            return o["status"], o["type"], o["body"], o["headers"]
        if urlsplit(key).path == "/robots.txt":
            return 200, "text/plain", ROBOTS_TXT, {}
        if urlsplit(key).path == LOGIN_PATH:
            return 200, "text/html; charset=utf-8", LOGIN_PAGE, {}
        if urlsplit(key).path == NIGHT_CONTROL:
            return self._turn_to(dict(parse_qsl(urlsplit(key).query)).get("n", ""))
        if self.render is not None:
            page = self._rendered_night(self.night).get(key)
            if page is None:
                return NOT_FOUND
            return page.status, page.content_type, page.body, {}
        route = self.routes().get(key)
        if route is None:
            return NOT_FOUND
        body = (self.root / f"night{self.night}" / route["file"]).read_bytes()
        return route["status"], route["type"], body, {}

    def __enter__(self) -> SampleServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and
            # the client's delayed ACK hold every keep-alive answer back by 40 ms
            disable_nagle_algorithm = True

            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                spec = server._take_fault(self.path)
                if spec is not None and spec["kind"] == "reset":
                    self.reset()
                    return
                if spec is not None and spec["kind"] == "slow":
                    threading.Event().wait(spec["delay"])
                planned = server.fault_answer(self.path, spec) if spec else None
                status, ctype, body, headers = planned or server.answer(self.path)
                if spec is not None and spec["kind"] in ("slow", "truncate"):
                    headers = {**headers, **spec["headers"]}
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if spec is not None and spec["kind"] == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True  # a clean close, short of Content-Length
                    return
                self.wfile.write(body)

            def reset(self):
                """Drop the connection with a TCP RST (linger 0), as a crashed peer would."""
                self.close_connection = True
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.connection.close()

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.do_GET()

            def log_message(self, format, *args):  # noqa: A002
                logger.debug("sample server: " + format, *args)

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
