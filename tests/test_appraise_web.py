"""The appraisal page of ``keitrucks serve`` (``/-/appraise``): in-process with Datasette's own
client, and once in a real headless Chromium against the page served on 127.0.0.1 (skipped when
Chromium is not installed)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import subprocess
import threading
from urllib.parse import urlencode

import pytest
from test_analysis_helpers import night
from test_appraise import AD, DAY, _market_trucks

from analysis.serve import build_datasette

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DEAL_TEXT = AD["clean-steal"]


@pytest.fixture(scope="module")
def market_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("appraise-web") / "market.db"
    night(db, DAY, "craigslist", _market_trucks())
    return db


@pytest.fixture(scope="module")
def ds(market_db):
    datasette = build_datasette(market_db, config={"buyer": {"state": "TN"}})
    yield datasette
    for database in datasette.databases.values():
        database.close()


def get(ds, path):
    return asyncio.run(ds.client.get(path))


def page(ds, **params):
    response = get(ds, "/-/appraise?" + urlencode(params))
    assert response.status_code == 200
    return response.text


def test_the_page_has_a_text_box_and_a_menu_link(ds):
    text = page(ds)
    assert '<textarea name="text"' in text
    assert 'method="get"' in text
    assert "/-/appraise" in get(ds, "/").text


def test_a_pasted_listing_gives_the_card_with_links_to_comparable_rows(ds):
    text = page(ds, text=DEAL_TEXT, as_of=DAY)
    assert 'class="appraisal deal"' in text
    assert "DEAL: " in text
    assert "your state TN" in text
    assert 'href="/market/listings?source=craigslist&amp;listing_id=acty' in text
    assert 'href="https://craigslist.example/acty' in text
    assert "Ask the seller" in text
    row = get(ds, "/market/listings.json?_shape=array&source=craigslist&listing_id=acty1")
    assert row.json()[0]["listing_id"] == "acty1"


def test_not_a_deal_says_why(ds):
    text = page(ds, text=AD["salvage"], as_of=DAY)
    assert 'class="appraisal nodeal"' in text
    assert "NOT A DEAL: salvage title" in text


def test_empty_text_is_one_line_and_the_page_writes_nothing(ds, market_db):
    before = hashlib.sha256(market_db.read_bytes()).hexdigest()
    assert "nothing to appraise" in page(ds, text="   ")
    assert "binary" in page(ds, text="\x00\x01PNG")
    page(ds, text=DEAL_TEXT, as_of=DAY)
    assert hashlib.sha256(market_db.read_bytes()).hexdigest() == before


@pytest.fixture
def served(ds):
    """The same Datasette on 127.0.0.1 at an OS-chosen port, in a thread."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(ds.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(600):  # wait for it to listen, however loaded the machine is
            if server.started:
                break
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_the_page_in_headless_chromium(served, tmp_path):
    url = f"{served}/-/appraise?" + urlencode({"text": DEAL_TEXT, "as_of": DAY})
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    dom = result.stdout
    assert "<textarea" in dom, result.stderr[-2000:]
    assert "DEAL: " in dom
    assert 'class="appraisal deal"' in dom
    assert "Comparables (" in dom
