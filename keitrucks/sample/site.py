"""The sample marketplace on disk and over HTTP.

A night of the sample is a folder ``data/sample/night<N>/`` of pages plus ``routes.json``, which
maps each request target (path and query, normalized) to a page file, its content type and its
HTTP status. :class:`SampleServer` serves it on 127.0.0.1 so spiders crawl it through the real
Scrapy downloader, exactly as they would crawl the live sites under ``base_url``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

logger = logging.getLogger(__name__)

#: The committed sample marketplace, relative to the repository root.
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"


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


class SampleServer:
    """Serve sample nights on 127.0.0.1 (a free port). Use as a context manager.

    ``night`` picks the folder served and can change between crawls; ``override`` replaces one
    target's answer (status, body, headers, delay) for fault tests.
    """

    def __init__(self, root: Path = SAMPLE_DIR, night: int = 1):
        self.root = Path(root)
        self.night = night
        self.overrides: dict[str, dict] = {}
        self.requests: list[str] = []
        #: (n, seconds): every request after the n-th waits this long (a site slowing down).
        self.slow_after: tuple[int, float] | None = None
        self._routes_cache: dict[int, dict] = {}
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def routes(self) -> dict[str, dict]:
        if self.night not in self._routes_cache:
            self._routes_cache[self.night] = load_routes(self.root / f"night{self.night}")
        return self._routes_cache[self.night]

    def override(self, target: str, *, status: int = 200, body: bytes = b"",
                 content_type: str = "text/html", headers: dict | None = None,
                 delay: float = 0.0) -> None:  # fmt: skip
        self.overrides[normalize_target(target)] = {
            "status": status, "body": body, "type": content_type,
            "headers": headers or {}, "delay": delay,
        }  # fmt: skip

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
        route = self.routes().get(key)
        if route is None:
            return 404, "text/html", b"<html><body>Not found</body></html>", {}
        body = (self.root / f"night{self.night}" / route["file"]).read_bytes()
        return route["status"], route["type"], body, {}

    def __enter__(self) -> SampleServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                status, ctype, body, headers = server.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.do_GET()

            def log_message(self, format, *args):  # noqa: A002
                logger.debug("sample server: " + format, *args)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
