"""Delivery through Apprise: channels from ``config["notify"]["urls"]`` and
``$KEITRUCKS_NOTIFY_URLS``, one message per channel (digest) or per alert (immediate).

A URL is a secret, so only its scheme and a short hash (the channel's name, e.g.
``json#1a2b3c4d``) are ever logged or stored, and every piece of it is redacted from the log
records of Apprise and the HTTP libraries while they work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from analysis.alerts.messages import render_message
from analysis.alerts.settings import NOTIFY_ENV, AlertsConfigError, as_list

logger = logging.getLogger(__name__)

# -- channels and delivery ----------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """An Apprise URL. ``name`` (scheme + short hash) is what logs and the table may show."""

    name: str
    scheme: str
    url: str = field(repr=False)


def notify_urls(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Apprise URLs from ``config["notify"]["urls"]`` then ``$KEITRUCKS_NOTIFY_URLS`` (comma or
    space separated), duplicates removed."""
    urls = as_list((config.get("notify") or {}).get("urls"))
    urls += re.split(r"[,\s]+", environ.get(NOTIFY_ENV, ""))
    return list(dict.fromkeys(str(u).strip() for u in urls if u and str(u).strip()))


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def secret_parts(url: str) -> set[str]:
    """The pieces of a URL that may be secrets (everything past the scheme), for redaction."""
    try:
        parts = urlsplit(url)
        pieces = {parts.username, parts.password, parts.hostname, parts.fragment}
        pieces |= set(re.split(r"[/@:]", parts.netloc + parts.path))
        pieces |= {v for _, v in parse_qsl(parts.query)}
    except ValueError:
        pieces = set(re.split(r"[/@:?&=#]", url.split("://", 1)[-1]))
    pieces.add(url)
    return {p for p in pieces if p and len(p) >= 4}


def redact(text: str, secrets: set[str]) -> str:
    for piece in sorted(secrets, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


class _RedactFilter(logging.Filter):
    """Rewrites Apprise's log records so no URL piece of our channels reaches any handler."""

    def __init__(self, secrets: set[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        return True


#: Loggers that may see a channel URL while Apprise sends (its own, and the HTTP stack's).
_URL_LOGGERS = ("apprise", "urllib3", "requests")


@contextmanager
def _apprise_guard(secrets: set[str]) -> Iterator[Any]:
    """Import Apprise quietly and redact our secrets from every log record of Apprise and the
    HTTP libraries under it (urllib3 logs request paths at DEBUG) while it works."""
    redactor = _RedactFilter(secrets)
    import apprise  # noqa: F401 (registers its loggers before we look them up)

    names = [
        name
        for name in [*_URL_LOGGERS, *logging.root.manager.loggerDict]
        if name.split(".")[0] in _URL_LOGGERS
    ]
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    for each in loggers:
        each.addFilter(redactor)
    try:
        with warnings.catch_warnings():
            # Apprise's e-mail plugin imports the stdlib's deprecated imghdr module.
            warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
            yield sys.modules["apprise"]
    finally:
        for each in loggers:
            each.removeFilter(redactor)


def _instantiate_quietly(apprise: Any, url: str) -> Any:
    """``Apprise.instantiate`` with Apprise's own logger held at CRITICAL: on a URL it cannot
    use it logs an ERROR line of its own, which our ``AlertsConfigError`` says better."""
    apprise_logger = logging.getLogger("apprise")
    level = apprise_logger.level
    apprise_logger.setLevel(logging.CRITICAL)
    try:
        return apprise.Apprise.instantiate(url)
    finally:
        apprise_logger.setLevel(level)


def build_channels(urls: Sequence[str]) -> list[Channel]:
    """One Channel per URL; an URL Apprise cannot use is a configuration error (scheme only)."""
    if not urls:
        return []
    channels = []
    secrets = set().union(*(secret_parts(u) for u in urls))
    with _apprise_guard(secrets) as apprise:
        for position, url in enumerate(urls, start=1):
            scheme = _scheme(url)
            if _instantiate_quietly(apprise, url) is None:
                raise AlertsConfigError(
                    f"notification URL #{position} ({scheme}://...) is not a URL Apprise can use"
                )
            digest = hashlib.sha256(url.encode()).hexdigest()[:8]
            channels.append(Channel(name=f"{scheme}#{digest}", scheme=scheme, url=url))
    return channels


def send(channel: Channel, title: str, body: str) -> tuple[bool, str | None]:
    """Deliver one message; (delivered?, error with the channel's secrets removed)."""
    secrets = secret_parts(channel.url)
    with _apprise_guard(secrets) as apprise:
        notifier = apprise.Apprise()
        notifier.add(channel.url)
        try:
            result = notifier.notify(
                body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN
            )
        except Exception as exc:  # a plugin crash must be recorded as a failed send, not lost
            return False, redact(f"{type(exc).__name__}: {exc}", secrets)[:500]
    if result:
        return True, None
    problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
    return False, redact("; ".join(problems) or "delivery failed", secrets)[:500]


def deliver(
    channels: Sequence[Channel], rows: Sequence[dict[str, Any]], *, mode: str, day: dt.date
) -> list[tuple[int, bool, str | None]]:
    """Send the alert rows (each with its channel, alert fields and details) and return the
    outcome per row: one message per channel in ``digest`` mode, per row in ``immediate``."""
    outcomes = []
    for channel in channels:
        mine = [r for r in rows if r["channel"] == channel.name]
        if not mine:
            continue
        batches = [mine] if mode == "digest" else [[r] for r in mine]
        for batch in batches:
            title, body = render_message(batch, day=day)
            ok, error = send(channel, title, body)
            if not ok:
                logger.warning("alert delivery to %s failed: %s", channel.name, error)
            else:
                logger.info("sent %d alert(s) to %s", len(batch), channel.name)
            outcomes += [(r["id"], ok, error) for r in batch]
    return outcomes
