"""The sample server's fault modes (``SampleServer.fault``), seen from a plain HTTP client.

Each mode must look to a client exactly like the misbehaviour it stands for, or the crawl fault
tests built on it prove nothing: a reset is a TCP reset, a truncated body is short of its
Content-Length, a transient fault serves the real page once it has played its ``times``.
"""

from __future__ import annotations

import http.client
import time

import pytest

from keitrucks.sample.site import (
    CHALLENGE_PAGE,
    FAULTS,
    LOGIN_PAGE,
    LOGIN_PATH,
    SampleServer,
    normalize_target,
)
from scrapers.blocking import block_reason

#: A real sample page (BE FORWARD stock list, night 1), big enough to cut in half.
PAGE = (
    "/beforward/www/stocklist/sortkey=n/keyword=Honda%20Acty%20Truck/kmode=and/"
    "tp_country_id=90/view_cnt=50/"
)


def get(server: SampleServer, target: str, timeout: float = 5.0):
    """(status, headers, body) of one GET on a fresh connection."""
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server():
    with SampleServer() as running:
        yield running


@pytest.fixture
def clean(server):
    server.faults.clear()
    server.overrides.clear()
    return server


@pytest.fixture
def real_page(clean) -> bytes:
    status, _, body = get(clean, PAGE)
    assert status == 200
    assert len(body) > 2000
    return body


def test_reset_is_a_connection_reset(clean):
    clean.fault(PAGE, "reset")
    with pytest.raises(ConnectionResetError):
        get(clean, PAGE)


def test_truncate_sends_half_the_body_under_the_full_content_length(clean, real_page):
    clean.fault(PAGE, "truncate")
    with pytest.raises(http.client.IncompleteRead) as info:
        get(clean, PAGE)
    assert info.value.partial == real_page[: len(real_page) // 2]
    assert info.value.expected == len(real_page) - len(real_page) // 2


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("garbage", 200, "missing_anchor"),
        ("empty", 200, "missing_anchor"),
        ("challenge", 200, "challenge_page"),
        ("json", 200, "json_instead_of_html"),
    ],
)
def test_content_faults_are_what_block_detection_calls_them(clean, kind, status, reason):
    clean.fault(PAGE, kind)
    got, _, body = get(clean, PAGE)
    assert got == status
    assert block_reason(got, body, PAGE, expect="html", anchor="stocklist") == reason


def test_garbage_is_binary_and_the_same_every_time(clean):
    clean.fault(PAGE, "garbage")
    first, second = get(clean, PAGE)[2], get(clean, PAGE)[2]
    assert first == second
    assert len(first) == 4096
    with pytest.raises(UnicodeDecodeError):
        first.decode("utf-8")


def test_html_where_json_is_expected(clean):
    target = "/craigslist/sapi/web/v8/postings/search/full?query=kei&cat=cta"
    clean.fault(target, "html")
    status, headers, body = get(clean, target)
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/html")
    assert block_reason(status, body, target, expect="json") == "html_instead_of_json"


def test_login_redirect_leads_to_a_login_page(clean):
    clean.fault(PAGE, "login_redirect")
    status, headers, _ = get(clean, PAGE)
    assert status == 302
    location = headers["Location"]
    assert location.startswith(LOGIN_PATH + "?return_to=")
    status, _, body = get(clean, location)
    assert (status, body) == (200, LOGIN_PAGE)
    assert block_reason(200, body, "http://127.0.0.1" + location, expect="html") == (
        "login_redirect"
    )


@pytest.mark.parametrize("retry_after", [None, "120"])
def test_status_faults_carry_their_headers(clean, retry_after):
    headers = {"Retry-After": retry_after} if retry_after else {}
    clean.fault(PAGE, "status", status=503, headers=headers)
    status, got, _ = get(clean, PAGE)
    assert status == 503
    assert got.get("Retry-After") == retry_after


def test_challenge_can_use_another_status(clean):
    clean.fault(PAGE, "challenge", status=202)
    status, _, body = get(clean, PAGE)
    assert (status, body) == (202, CHALLENGE_PAGE)


def test_slow_serves_the_real_page_late(clean, real_page):
    clean.fault(PAGE, "slow", delay=0.6)
    with pytest.raises(TimeoutError):
        get(clean, PAGE, timeout=0.2)
    clean.fault(PAGE, "slow", delay=0.2)
    assert get(clean, PAGE)[2] == real_page


def test_a_transient_fault_plays_times_then_serves_the_page(clean, real_page):
    clean.fault(PAGE, "status", status=503, times=2)
    before = clean.hits(PAGE)
    statuses = [get(clean, PAGE)[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert clean.hits(PAGE) - before == 3
    assert get(clean, PAGE)[2] == real_page


def test_hits_count_by_normalized_target(clean):
    target = "/craigslist/sapi/web/v8/postings/search/full?b=2&a=1"
    before = clean.hits(target)
    get(clean, target)
    get(clean, "/craigslist/sapi/web/v8/postings/search/full?a=1&b=2")
    assert clean.hits(normalize_target(target)) - before == 2


def test_a_fault_takes_precedence_over_an_override_and_other_pages_are_untouched(clean):
    clean.override(PAGE, status=500, body=b"override")
    assert get(clean, PAGE)[:1] == (500,)
    clean.fault(PAGE, "empty", times=1)
    assert get(clean, PAGE)[2] == b""
    assert get(clean, PAGE)[2] == b"override"
    assert get(clean, "/robots.txt")[0] == 200


def test_unknown_faults_and_statusless_status_faults_are_refused(clean):
    with pytest.raises(ValueError, match="unknown fault"):
        clean.fault(PAGE, "meltdown")
    with pytest.raises(ValueError, match="status="):
        clean.fault(PAGE, "status")
    assert set(FAULTS) >= {"reset", "truncate", "garbage", "login_redirect", "json", "html"}


def test_keep_alive_answers_are_not_held_back(clean, real_page):
    """Headers and body are two writes; without TCP_NODELAY each answer on a kept-alive
    connection waits ~40 ms for the client's delayed ACK (25 requests: a second)."""
    host, port = clean.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        started = time.monotonic()
        for _ in range(25):
            conn.request("GET", PAGE)
            response = conn.getresponse()
            assert response.read() == real_page
        elapsed = time.monotonic() - started
    finally:
        conn.close()
    assert elapsed < 0.5
