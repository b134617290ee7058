"""Scrapy settings: the crawl policy of DESIGN.md. Environment variables override the defaults."""

import os

BOT_NAME = "keitrucks"
SPIDER_MODULES = ["scrapers.spiders"]
NEWSPIDER_MODULE = "scrapers.spiders"

#: Where users can read what this crawler is and how to reach its operator.
KEITRUCKS_CONTACT_URL = os.getenv(
    "KEITRUCKS_CONTACT_URL", "https://github.com/keitrucks/keitrucks#contact"
)
USER_AGENT = os.getenv(
    "KEITRUCKS_USER_AGENT",
    f"Mozilla/5.0 (compatible; keitrucks/0.1; +{KEITRUCKS_CONTACT_URL})",
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.8",
}

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
#: Outputs of one response processed at once. The item pipelines are synchronous, so more gain
#: nothing, and Scrapy starts this many asyncio tasks for every response (its default, 100, was
#: a seventh of a crawl's CPU time against the local sample).
CONCURRENT_ITEMS = int(os.getenv("KEITRUCKS_CONCURRENT_ITEMS", "4"))
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = float(os.getenv("KEITRUCKS_DOWNLOAD_DELAY", "1.5"))
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = os.getenv("KEITRUCKS_AUTOTHROTTLE", "1") == "1"
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = float(os.getenv("KEITRUCKS_DOWNLOAD_TIMEOUT", "30"))
RETRY_TIMES = 2
# 429 is a block, not a transient fault: the block detector stops the source instead.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
# Not retried: a failed DNS lookup or a refused connection means the site cannot be reached, and
# UnreachableMiddleware stops the source at once (scrapy's defaults retry them).
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.DownloadFailedError",
    "scrapy.exceptions.DownloadTimeoutError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectionLost",
    "twisted.internet.error.TCPTimedOutError",
    OSError,
    "scrapy.core.downloader.handlers.http11.TunnelError",
]
#: The longest ``Retry-After`` (seconds) the retry waits for; a longer one stops the source.
KEITRUCKS_RETRY_AFTER_MAX = float(os.getenv("KEITRUCKS_RETRY_AFTER_MAX", "120"))
#: Seconds a DNS lookup may take (Scrapy's default, 60, makes a night without network crawl on).
DNS_TIMEOUT = int(os.getenv("KEITRUCKS_DNS_TIMEOUT", "10"))
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control runs an HTTP server per crawl and writes a job file under the user's
# home: shared by every copy on the machine, and nothing here uses it.
REMOTE_CONTROL_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.getenv("KEITRUCKS_LOG_LEVEL", "INFO")
#: Makes Scrapy's per-page "Crawled" and per-item "Scraped from" records only when LOG_LEVEL
#: shows them (DEBUG): at INFO they were made and dropped, two records per page.
LOG_FORMATTER = "scrapers.logformatter.LogFormatter"

#: Requests one source may make in one night (a spider's ``request_budget`` overrides it).
KEITRUCKS_REQUEST_BUDGET = int(os.getenv("KEITRUCKS_REQUEST_BUDGET", "400"))
#: The crawl's "now": an ISO 8601 UTC time stamped on every listing (the demo sets each night).
KEITRUCKS_AS_OF = os.getenv("KEITRUCKS_AS_OF")
#: SQLite database the storage pipeline writes.
KEITRUCKS_DB_PATH = os.getenv("KEITRUCKS_DB_PATH", "data/keitrucks.db")
#: Reader of the listings a source already has, ``(db_path, source) -> {listing_id: fields}``,
#: named like ITEM_PIPELINES entries: incremental spiders skip the detail pages of known,
#: unchanged listings. Empty disables it (every detail page is read).
KEITRUCKS_KNOWN_LISTINGS = "pipelines.listings.read_known_listings"
#: The garbage collector during a crawl (scrapers/heap.py): freeze the heap at spider open, and
#: collect the young generation every this many new objects (Python's default is 700; 0 keeps it).
KEITRUCKS_GC_FREEZE = os.getenv("KEITRUCKS_GC_FREEZE", "1") == "1"
KEITRUCKS_GC_THRESHOLD = int(os.getenv("KEITRUCKS_GC_THRESHOLD", "10000"))
#: Items buffered before one write transaction.
KEITRUCKS_BATCH_SIZE = int(os.getenv("KEITRUCKS_BATCH_SIZE", "200"))
#: A run with fewer items than this share of the recent median is suspicious: nothing goes gone.
KEITRUCKS_MIN_ITEMS_RATIO = float(os.getenv("KEITRUCKS_MIN_ITEMS_RATIO", "0.5"))
#: Optional TOML configuration (searches, band, alerts); see keitrucks.example.toml.
KEITRUCKS_CONFIG = os.getenv("KEITRUCKS_CONFIG")

DOWNLOADER_MIDDLEWARES = {
    "scrapers.middlewares.BudgetMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapers.middlewares.PoliteRetryMiddleware": 550,
    "scrapers.middlewares.UnreachableMiddleware": 560,
    "scrapers.middlewares.BlockDetectionMiddleware": 600,
}
#: The item stages that work on raw listings only: all a remote job runs (see below).
KEITRUCKS_RAW_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.dedupe.DedupePipeline": 200,
}
ITEM_PIPELINES = {
    **KEITRUCKS_RAW_PIPELINES,
    "pipelines.normalize.NormalizePipeline": 300,
    "pipelines.landed.LandedCostPipeline": 350,
    "pipelines.storage.SQLitePipeline": 900,
}

HTTPCACHE_ENABLED = os.getenv("KEITRUCKS_HTTPCACHE", "0") == "1"
HTTPCACHE_DIR = "httpcache"

#: Remote mode (a Scrapyd job on a host without the database): the job runs only the raw-item
#: stages, writes the raw listings and then the run's facts to its feed (Scrapyd's items_dir),
#: and the night's host ingests that feed (keitrucks/remote_ingest.py).
KEITRUCKS_REMOTE = False
ADDONS = {"pipelines.remote.RemoteMode": 0}
EXTENSIONS = {
    "pipelines.remote.RunRecord": -10,
    # the start-up heap out of the garbage collector's sight, young objects collected less often
    "scrapers.heap.CrawlHeap": 0,
    # the crawl's counts for a watching terminal (only with KEITRUCKS_PROGRESS_FILE set)
    "scrapers.progress.ProgressFile": 500,
}
