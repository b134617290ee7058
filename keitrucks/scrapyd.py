"""Scale-out on Scrapyd: package the project as an egg, deploy it, and run a night's crawls there.

``keitrucks nightly --scrapyd URL`` (one server, every source) or the ``[[scrapyd.servers]]``
of the configuration (several, each with the sources it lists, the rest spread evenly by
``spread_sources``) schedule one job per source (``schedule.json``), poll ``listjobs.json`` on
every server until each job has ended, cancel a job that runs over the crawl timeout
(``cancel.json``), and then go on with the report, the alerts and the health check on this
machine. A server that stops answering fails only its own jobs.

Storage: the Scrapyd hosts share nothing with this one but HTTP. Each job runs in remote mode
(``pipelines.remote``): it stores nothing, and writes its raw listings and then its run record
to its feed, which Scrapyd keeps in its ``items_dir`` and serves at
``/items/<project>/<spider>/<job>.jl``. As each job ends, the night fetches that feed and
``keitrucks.remote_ingest`` stores it here through the same pipelines as a local crawl, once
per job id. An incremental source gets what the database knows of it as a spider argument
(``known_snapshot``), within Scrapyd's command-line limit; without it the job reads every
detail page. The job's own settings carry the source's configuration table, so a Scrapyd host
needs no configuration file (and never sees the alert settings).

``build_egg`` packages the project without setuptools: a zip of the Python packages, their data
files, and ``EGG-INFO`` naming ``scrapers.settings`` as the Scrapy settings (the entry point
Scrapyd reads). It packs the packages from wherever this Python imports them: the source tree
of a checkout, or the installed copy's site-packages. ``scrapyd-deploy`` from scrapyd-client
builds an equivalent egg from a checkout.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import logging
import os
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from scrapy.utils.conf import closest_scrapy_cfg

from keitrucks.crawl import DEFAULT_KILL_GRACE, LOCAL_SETTINGS, CrawlResult

logger = logging.getLogger(__name__)

PROJECT = "keitrucks"
#: The packages a crawl imports, shipped in the egg with their data files.
PACKAGES = ("scrapers", "pipelines", "keitrucks", "analysis")
SETTINGS_MODULE = "scrapers.settings"


class ScrapydError(RuntimeError):
    """Scrapyd could not be reached or refused a request; worded for one line."""


# -- the egg ------------------------------------------------------------------------------------


def package_root(package: str) -> Path:
    """The folder that holds ``package`` as this Python imports it (checkout or installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ScrapydError(f"cannot find the {package} package to put in the egg")
    return Path(next(iter(spec.submodule_search_locations))).parent


def _egg_files(root: Path | None) -> list[tuple[Path, str]]:
    """(file, name in the egg) of every package file, from ``root`` or where each is imported."""
    files = []
    for package in PACKAGES:
        base = root if root is not None else package_root(package)
        for path in sorted((base / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((path, path.relative_to(base).as_posix()))
    return files


def build_egg(version: str, root: Path | None = None) -> bytes:
    """The project as a Python egg (zip) that Scrapyd can run, as bytes. ``root``: a source
    tree to pack; None packs the packages this Python imports (a checkout or an install)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as egg:
        for path, name in _egg_files(root):
            egg.write(path, name)
        egg.writestr(
            "EGG-INFO/PKG-INFO", f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {version}\n"
        )
        egg.writestr("EGG-INFO/entry_points.txt", f"[scrapy]\nsettings = {SETTINGS_MODULE}\n")
        egg.writestr("EGG-INFO/top_level.txt", "\n".join(PACKAGES) + "\n")
        egg.writestr("EGG-INFO/not-zip-safe", "\n")
    return buffer.getvalue()


# -- the client ---------------------------------------------------------------------------------


@dataclass
class ScrapydClient:
    """Scrapyd's JSON API (https://scrapyd.readthedocs.io/en/latest/api.html), stdlib only.

    ``url`` may carry ``user:password@`` for Scrapyd's basic authentication, or ``credentials``
    (``user:password``, e.g. from an environment variable) gives them.
    """

    url: str
    project: str = PROJECT
    #: seconds to wait for one API answer.
    timeout: float = 30.0
    #: seconds between two looks at the jobs while a night's crawls run.
    poll_interval: float = 5.0
    credentials: str | None = field(default=None, repr=False)
    _auth: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        if not parts.hostname:
            raise ScrapydError(f"not a Scrapyd URL: {self.url!r}")
        if parts.username:
            self.credentials = f"{parts.username}:{parts.password or ''}"
        if self.credentials:
            self._auth = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/", "", ""))

    def _call(
        self,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        url = urljoin(self.url, endpoint)
        if params:
            url += "?" + urlencode(params)
        if data is not None:
            body, content_type = urlencode(list(data)).encode(), "application/x-www-form-urlencoded"
        request = Request(url, data=body, method="POST" if body is not None else "GET")
        if content_type:
            request.add_header("Content-Type", content_type)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except HTTPError as exc:
            raise ScrapydError(f"Scrapyd {endpoint}: HTTP {exc.code} {exc.reason}") from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ScrapydError(f"Scrapyd at {self.url} unreachable: {reason}") from None
        except ValueError:
            raise ScrapydError(f"Scrapyd {endpoint}: answer is not JSON") from None
        if answer.get("status") != "ok":
            raise ScrapydError(f"Scrapyd {endpoint}: {answer.get('message', answer)}")
        return answer

    def daemon_status(self) -> dict[str, Any]:
        return self._call("daemonstatus.json")

    def add_version(self, version: str, egg: bytes) -> int:
        """Upload ``egg`` as ``version`` of the project; returns how many spiders Scrapyd found."""
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (("project", self.project), ("version", version)):
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="egg"; '
            f'filename="{self.project}.egg"\r\nContent-Type: application/octet-stream'
            "\r\n\r\n".encode()
            + egg
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        answer = self._call(
            "addversion.json",
            body=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        return int(answer.get("spiders", 0))

    def list_spiders(self) -> list[str]:
        return list(self._call("listspiders.json", params={"project": self.project})["spiders"])

    def schedule(
        self,
        spider: str,
        *,
        settings: Mapping[str, str],
        args: Mapping[str, str],
        jobid: str | None = None,
    ) -> str:
        data = [("project", self.project), ("spider", spider)]
        data += [("setting", f"{k}={v}") for k, v in settings.items()]
        data += [(k, v) for k, v in args.items()]
        if jobid:
            data.append(("jobid", jobid))
        return str(self._call("schedule.json", data=data)["jobid"])

    def list_jobs(self) -> dict[str, list[dict[str, Any]]]:
        return self._call("listjobs.json", params={"project": self.project})

    def cancel(self, jobid: str, signal: str = "TERM") -> str | None:
        answer = self._call(
            "cancel.json", data=[("project", self.project), ("job", jobid), ("signal", signal)]
        )
        return answer.get("prevstate")

    def feed(self, spider: str, jobid: str) -> bytes:
        """The job's feed (JSON Lines) from Scrapyd's ``items_dir``."""
        url = urljoin(self.url, f"items/{self.project}/{spider}/{jobid}.jl")
        request = Request(url)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except HTTPError as exc:
            if exc.code == 404:
                raise ScrapydError(
                    f"no feed for job {jobid} at {self.url} (is items_dir set in scrapyd.conf?)"
                ) from None
            raise ScrapydError(f"Scrapyd items: HTTP {exc.code} {exc.reason}") from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ScrapydError(f"Scrapyd at {self.url} unreachable: {reason}") from None

    def log_tail(self, log_url: str | None, size: int = 4000) -> str:
        """The last ``size`` bytes of a job's log ("" when Scrapyd keeps none)."""
        if not log_url:
            return ""
        request = Request(urljoin(self.url, log_url), headers={"Range": f"bytes=-{size}"})
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return response.read()[-size:].decode("utf-8", errors="replace")
        except (URLError, OSError) as exc:
            logger.debug("no log at %s: %s", log_url, exc)
            return ""


def servers_from_config(
    config: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> list[tuple[ScrapydClient, list[str] | None]]:
    """``[[scrapyd.servers]]``: a client per server (credentials from the variable its
    ``auth_env`` names) and the sources it lists (None: its share of the others)."""
    from keitrucks.core.config import SOURCE_NAMES, ConfigError

    env = os.environ if env is None else env
    out, claimed = [], {}
    for server in (config.get("scrapyd") or {}).get("servers") or []:
        url, variable = server["url"], server.get("auth_env")
        if variable and not env.get(variable):
            raise ConfigError(f"[scrapyd] {url}: auth_env {variable} is not set")
        try:
            client = ScrapydClient(url, credentials=env.get(variable) if variable else None)
        except ScrapydError as exc:
            raise ConfigError(f"[scrapyd] {exc}") from None
        listed = server.get("sources")
        for source in listed or ():
            if source not in SOURCE_NAMES:
                raise ConfigError(f"[scrapyd] {url}: unknown source {source!r}")
            if source in claimed:
                raise ConfigError(f"[scrapyd] {source} is listed on {claimed[source]} and {url}")
            claimed[source] = url
        out.append((client, list(listed) if listed is not None else None))
    return out


def deploy(client: ScrapydClient, version: str | None = None, root: Path | None = None) -> str:
    """Build the egg and upload it; returns the version deployed."""
    version = version or str(int(time.time()))
    spiders = client.add_version(version, build_egg(version, root))
    logger.info(
        "deployed %s version %s to %s (%d spiders)", client.project, version, client.url, spiders
    )
    return version


# -- a night's crawls ---------------------------------------------------------------------------


#: Scrapyd starts a job with its arguments on a command line, where Linux allows 128 KiB per
#: argument and 2 MiB in all (environment included): the known-listings snapshot goes in parts
#: of SNAPSHOT_PART characters, SNAPSHOT_MAX in all.
SNAPSHOT_PART = 100_000
SNAPSHOT_MAX = 1_000_000


def job_settings(
    *,
    source_config: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The Scrapy settings one job gets: remote mode (raw items and the run record to the job's
    feed, no database), the source's configuration table (the Scrapyd host has no configuration
    file), and the local-crawl settings when crawling a sample server."""
    out = {"KEITRUCKS_REMOTE": "1"}
    if source_config:
        out["KEITRUCKS_SOURCE_CONFIG"] = json.dumps(source_config, sort_keys=True)
    if base_url:
        out.update(LOCAL_SETTINGS)
    out.update(settings or {})
    return out


def known_snapshot(db: str | Path, source: str, limit: int = SNAPSHOT_MAX) -> dict[str, str]:
    """What the database holds of ``source``, as an incremental spider's ``known_listings``
    arguments; none when there is nothing, or too much to send (the job reads every page)."""
    from pipelines.listings import read_known_listings
    from scrapers.spiders.incremental import encode_known, snapshot_arguments

    known = read_known_listings(db, source)
    if not known:
        return {}
    text = encode_known(known)
    if len(text) > limit:
        logger.warning(
            "%s: %d known listings make %d characters, over Scrapyd's command-line limit: "
            "the job reads every detail page",
            source,
            len(known),
            len(text),
        )
        return {}
    return snapshot_arguments(text, SNAPSHOT_PART)


def incremental_sources(sources: Sequence[str]) -> set[str]:
    """Which of ``sources`` are incremental spiders (they take a known-listings snapshot)."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    from scrapers.spiders.incremental import IncrementalSpider

    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    loader = SpiderLoader.from_settings(settings)
    found = set()
    for source in sources:
        try:
            if issubclass(loader.load(source), IncrementalSpider):
                found.add(source)
        except KeyError:
            continue
    return found


def spread_sources(
    servers: Sequence[tuple[Any, Sequence[str] | None]], sources: Sequence[str]
) -> list[tuple[Any, list[str]]]:
    """Which server crawls which of tonight's ``sources``: the ones a server lists go there, the
    rest are dealt evenly to the servers that list none (to all, when every one lists some)."""
    plan = [(server, [s for s in sources if s in (listed or ())]) for server, listed in servers]
    taken = {s for _, chosen in plan for s in chosen}
    open_ = [i for i, (_, listed) in enumerate(servers) if not listed] or list(range(len(plan)))
    for source in sources:
        if source not in taken:
            i = min(open_, key=lambda i: len(plan[i][1]))
            plan[i][1].append(source)
    return [(server, chosen) for server, chosen in plan if chosen]


@dataclass
class ScrapydJob:
    """One source's job on one server, from scheduling to its feed."""

    source: str
    jobid: str | None
    client: Any = None
    error: str | None = None
    #: when a poll first saw it running (monotonic seconds).
    started: float | None = None
    cancelled_at: float | None = None
    killed: bool = False
    result: CrawlResult | None = None
    #: the job's feed (JSON Lines) as Scrapyd serves it, once it ended; None when it cannot.
    feed: bytes | None = None
    feed_error: str | None = None


def crawl_on_scrapyd(
    plan: Sequence[tuple[Any, Sequence[str]]],
    *,
    db: str | Path,
    as_of: str | None = None,
    base_url: str | None = None,
    config: Mapping[str, Any] | None = None,
    settings: Mapping[str, str] | None = None,
    timeout: float | None = None,
    kill_grace: float = DEFAULT_KILL_GRACE,
    poll_interval: float | None = None,
    on_done: Callable[[ScrapydJob], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ScrapydJob]:
    """Schedule each source on its server (``plan``: (client, sources) pairs), wait for all jobs,
    fetch each ended job's feed, and call ``on_done(job)`` in the order the jobs end.

    A job over ``timeout`` seconds (pending or running) is cancelled with SIGTERM, then SIGKILL
    after ``kill_grace``; its result is ``timed_out``. A source its server would not schedule
    gets returncode -1 and the reason in ``stderr_tail``; so do the jobs of a server that stops
    answering. Incremental sources get the known-listings snapshot of ``db``.
    """
    sources = [s for _, chosen in plan for s in chosen]
    incremental = incremental_sources(sources) if db else set()
    args = {k: v for k, v in (("base_url", base_url), ("as_of", as_of)) if v}
    jobs = []
    for client, chosen in plan:
        for source in chosen:
            table = ((config or {}).get("sources") or {}).get(source)
            per_job = job_settings(source_config=table, base_url=base_url, settings=settings)
            job_args = dict(args)
            if source in incremental:
                job_args.update(known_snapshot(db, source))
            jobid = f"{(as_of or 'live').replace(':', '')[:10]}-{source}-{uuid.uuid4().hex[:12]}"
            try:
                client.schedule(source, settings=per_job, args=job_args, jobid=jobid)
                jobs.append(ScrapydJob(source, jobid, client))
                logger.info("%s: scheduled on %s as %s", source, client.url, jobid)
            except ScrapydError as exc:
                jobs.append(ScrapydJob(source, None, client, error=str(exc)))
    for job in jobs:
        if job.jobid is None:
            _finish(job, CrawlResult(job.source, -1, None, f"not scheduled: {job.error}"), on_done)
    try:
        _wait(
            jobs,
            timeout=timeout,
            kill_grace=kill_grace,
            poll_interval=poll_interval
            or min((getattr(c, "poll_interval", 5.0) for c, _ in plan), default=5.0),
            on_done=on_done,
            clock=clock,
            sleep=sleep,
        )
    except BaseException:  # the night is being stopped: do not leave jobs running on Scrapyd
        for job in jobs:
            if job.result is None and job.jobid is not None:
                _cancel(job.client, job, "TERM")
        raise
    return jobs


def _wait(
    jobs: list[ScrapydJob], *, timeout, kill_grace, poll_interval, on_done, clock, sleep
) -> None:
    """Poll every server with jobs left until each job has ended. The servers are asked at the
    same time, each in its own thread, so one that hangs until its HTTP timeout holds up only
    its own jobs: the others' answers are handed on after at most ``poll_interval`` seconds,
    while its call is still out. The answers are handled here, one server after the other."""
    scheduled_at = clock()
    failures: dict[int, int] = {}
    asking: dict[int, Future] = {}
    clients = {id(j.client): j.client for j in jobs}
    # not a with-block: leaving it would wait for a hung server's call to time out
    pool = ThreadPoolExecutor(max_workers=len(clients) or 1, thread_name_prefix="scrapyd")
    try:
        while any(j.result is None for j in jobs):
            for key, client in clients.items():
                if key not in asking and any(j.result is None and j.client is client for j in jobs):
                    asking[key] = pool.submit(client.list_jobs)
            done, _ = futures_wait(asking.values(), timeout=poll_interval)
            for key, client in clients.items():
                if key in asking and asking[key] in done:
                    answer = asking.pop(key)
                    _handle_answer(
                        jobs,
                        client,
                        answer,
                        failures,
                        key,
                        now=clock(),
                        scheduled_at=scheduled_at,
                        timeout=timeout,
                        kill_grace=kill_grace,
                        on_done=on_done,
                    )
            # a server still being asked has already made us wait poll_interval
            if any(j.result is None for j in jobs) and not asking:
                sleep(poll_interval)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _handle_answer(
    jobs, client, answer: Future, failures, key, *, now, scheduled_at, timeout, kill_grace, on_done
) -> None:
    """One server's ``listjobs.json`` answer (or its error): advance each of its waiting jobs."""
    waiting = [j for j in jobs if j.result is None and j.client is client]
    try:
        listing = answer.result()
        failures[key] = 0
    except ScrapydError as exc:
        failures[key] = failures.get(key, 0) + 1
        if failures[key] >= 5:  # this server is gone: its jobs failed, the rest go on
            for job in waiting:
                _finish(job, CrawlResult(job.source, -1, None, f"lost track: {exc}"), on_done)
        return
    state = {
        j["id"]: (name, j)
        for name in ("pending", "running", "finished")
        for j in listing.get(name, [])
    }
    # jobs that ended since the last poll are handed on in the order they ended
    waiting.sort(key=lambda j: str(state.get(j.jobid, ("", {}))[1].get("end_time") or ""))
    for job in waiting:
        _advance(
            client,
            job,
            state.get(job.jobid),
            now=now,
            scheduled_at=scheduled_at,
            timeout=timeout,
            kill_grace=kill_grace,
            on_done=on_done,
        )


def _advance(
    client: ScrapydClient,
    job: ScrapydJob,
    found: tuple[str, dict] | None,
    *,
    now: float,
    scheduled_at: float,
    timeout: float | None,
    kill_grace: float,
    on_done,
) -> None:
    """One poll's step for one job: note it started, finish it, or cancel it when over time."""
    where, info = found or ("missing", {})
    if where in ("finished", "missing"):
        tail = client.log_tail(info.get("log_url"))
        if where == "missing":
            tail = f"job {job.jobid} is no longer known to Scrapyd (restarted?)\n{tail}"
        elif job.cancelled_at is not None:
            tail = f"timed out after {timeout:g}s (cancelled on Scrapyd)\n{tail}"
        code = -9 if job.killed else (-15 if job.cancelled_at is not None else 0)
        if where == "missing":
            code = -1
        _finish(
            job,
            CrawlResult(job.source, code, None, tail, job.cancelled_at is not None, timeout),
            on_done,
        )
        return
    if where == "running" and job.started is None:
        job.started = now
    since = job.started if job.started is not None else scheduled_at
    if job.cancelled_at is None:
        if timeout is not None and now - since > timeout:
            logger.warning(
                "%s: over its %ss on Scrapyd, cancelling job %s", job.source, timeout, job.jobid
            )
            job.cancelled_at = now
            if _cancel(client, job, "TERM") == "pending":
                _finish(
                    job,
                    CrawlResult(
                        job.source,
                        -1,
                        None,
                        f"never started within {timeout:g}s on Scrapyd",
                        True,
                        timeout,
                    ),
                    on_done,
                )
    elif not job.killed and now - job.cancelled_at > kill_grace:
        job.killed = True
        _cancel(client, job, "KILL")


def _cancel(client: ScrapydClient, job: ScrapydJob, signal: str) -> str | None:
    try:
        return client.cancel(job.jobid, signal)
    except ScrapydError as exc:  # the next poll sees the job's state either way
        logger.warning("%s: could not cancel job %s: %s", job.source, job.jobid, exc)
        return None


def _finish(job: ScrapydJob, result: CrawlResult, on_done) -> None:
    job.result = result
    if job.jobid is not None:
        try:
            job.feed = job.client.feed(job.source, job.jobid)
        except ScrapydError as exc:
            job.feed_error = str(exc)
            logger.warning("%s: no feed for job %s: %s", job.source, job.jobid, exc)
    if on_done:
        on_done(job)


def deploy_url(cfg: Path | None = None) -> str:
    """The ``[deploy] url`` of scrapy.cfg (where ``scrapyd-deploy`` uploads too): ``cfg``, or the
    closest one in the current directory or above it (a checkout has one; an install has none)."""
    import configparser

    found = cfg or closest_scrapy_cfg()
    if not found:
        raise ScrapydError(
            f"no scrapy.cfg in {Path.cwd()} or above (an installed keitrucks has none): "
            "pass the Scrapyd URL"
        )
    cfg = Path(found)
    parser = configparser.ConfigParser()
    parser.read(cfg)
    try:
        return parser["deploy"]["url"]
    except KeyError:
        raise ScrapydError(f"no [deploy] url in {cfg}; pass the Scrapyd URL") from None
