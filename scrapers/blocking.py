"""Pure block detection: is this response a site refusing us rather than a page of listings?

Rules (shared/sources/README.md): 403 or 429; an HTTP 202 with a small body (a JavaScript
challenge); a known challenge page; HTML where JSON was expected; a page missing the anchor text
every valid page of that kind carries.
"""

from __future__ import annotations

import re

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
    if anchor and anchor.encode() not in body:
        return "missing_anchor"
    return None
