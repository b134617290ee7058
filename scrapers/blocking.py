"""Pure block detection: is this response a site refusing us rather than a page of listings?

Rules (shared/sources/README.md): 403 or 429; an HTTP 202 with a small body (a JavaScript
challenge); a known challenge page, or an edge's error page with its reference id; HTML where
JSON was expected; a page missing the anchor text every valid page of that kind carries.

Also pure: whether a download error means the site cannot be reached at all (no network, no
such host, nothing listening), and how long a ``Retry-After`` asks us to wait.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

BLOCK_STATUSES = {403: "http_403", 429: "http_429"}
CHALLENGE_MAX_BYTES = 5000
_CHALLENGE_MARKERS = (
    b"access denied",
    b"pardon our interruption",
    b"checking your browser",
    b"cf-challenge",
    b"challenge-platform",
    b"captcha",
    b"request unsuccessful. incapsula",
)
_LOGIN_PATH = re.compile(r"/(login|signin|sign-in|ap/signin)\b", re.I)
#: The reference id an Akamai edge prints on the error page it serves in place of the site's
#: ("Reference #18.6a2c1702.1700000000.1b2c3d4e"; eBay's "Something went wrong on our end" page
#: shows "0.5c39c717.1785158953.407f3f"): the edge refused or failed the request, whatever the
#: page says, and no parser is to blame.
_EDGE_REFERENCE = re.compile(rb"\b\d{1,3}\.[0-9a-f]{8}\.\d{10}\.[0-9a-f]{6,8}\b")


def looks_like_json(body: bytes) -> bool:
    head = body.lstrip()[:1]
    return head in (b"{", b"[")


def block_reason(
    status: int,
    body: bytes,
    url: str = "",
    *,
    expect: str | None = None,
    anchor: str | None = None,
) -> str | None:
    """The reason this response is a block, or ``None`` when it is a normal page.

    ``expect`` is "json" or "html" when the request knows what it asked for; ``anchor`` is a
    string every valid page of that kind contains.
    """
    if status in BLOCK_STATUSES:
        return BLOCK_STATUSES[status]
    if status == 202 and len(body) < CHALLENGE_MAX_BYTES:
        return "challenge_202"
    if status >= 300:
        return None  # redirects and server errors are the downloader's business
    if _LOGIN_PATH.search(url.split("?", 1)[0]):
        return "login_redirect"
    lowered = body[:20000].lower()
    if expect == "json" and not looks_like_json(body):
        return "html_instead_of_json" if b"<" in body[:200] else "not_json"
    if expect == "html" and looks_like_json(body):
        return "json_instead_of_html"
    if expect != "json" and len(body) < 20000 and any(m in lowered for m in _CHALLENGE_MARKERS):
        return "challenge_page"
    if expect != "json" and len(body) < 20000 and _EDGE_REFERENCE.search(body):
        return "edge_error_page"
    if anchor and anchor.encode() not in body:
        return "missing_anchor"
    return None


#: Download errors (by class name, Scrapy's and Twisted's) that mean the site cannot be reached
#: at all: retrying them only makes a night without network take minutes per source.
UNREACHABLE_ERRORS = {
    "CannotResolveHostError": "no network (DNS lookup failed)",
    "DNSLookupError": "no network (DNS lookup failed)",
    "DownloadConnectionRefusedError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "NoRouteError": "no route to host",
}


def unreachable_reason(exc: BaseException) -> str | None:
    """Why ``exc`` says the site cannot be reached, or ``None`` for any other error.

    Scrapy wraps Twisted's errors (``raise ... from``), so the causes are read too.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for cls in type(exc).__mro__:
            if cls.__name__ in UNREACHABLE_ERRORS:
                return UNREACHABLE_ERRORS[cls.__name__]
        exc = exc.__cause__ or exc.__context__
    return None


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), never
    negative; ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
