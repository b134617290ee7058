"""Scale-out on Scrapyd: package the project as an egg, deploy it, and run a night's crawls there.

``keitrucks nightly --scrapyd URL`` schedules one job per source on a Scrapyd server
(``schedule.json``), polls ``listjobs.json`` until every job has finished, cancels a job that
runs over the crawl timeout (``cancel.json``), and then goes on with the report, the alerts
and the health check on this machine.

Storage: each job's spider writes straight into the SQLite database named by the
``KEITRUCKS_DB_PATH`` job setting, through the same storage pipeline as a local crawl, so the
runs, the history and "gone" stay exactly as correct as on one machine. That path is opened on
the Scrapyd host: run Scrapyd on the machine that holds the database (the one that runs the
report), or give both machines the same local path to one disk; SQLite must not sit on a network
file system. ``docs/deploy.md`` shows both set-ups.

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
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
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

    ``url`` may carry ``user:password@`` for Scrapyd's basic authentication.
    """

    url: str
    project: str = PROJECT
    #: seconds to wait for one API answer.
    timeout: float = 30.0
    #: seconds between two looks at the jobs while a night's crawls run.
    poll_interval: float = 5.0
    _auth: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        if not parts.hostname:
            raise ScrapydError(f"not a Scrapyd URL: {self.url!r}")
        if parts.username:
            token = f"{parts.username}:{parts.password or ''}".encode()
            self._auth = "Basic " + base64.b64encode(token).decode()
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


def deploy(client: ScrapydClient, version: str | None = None, root: Path | None = None) -> str:
    """Build the egg and upload it; returns the version deployed."""
    version = version or str(int(time.time()))
    spiders = client.add_version(version, build_egg(version, root))
    logger.info(
        "deployed %s version %s to %s (%d spiders)", client.project, version, client.url, spiders
    )
    return version


# -- a night's crawls ---------------------------------------------------------------------------


def job_settings(
    *,
    db: str | Path,
    config: str | Path | None,
    base_url: str | None,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The Scrapy settings one job gets: the database path (as seen on the Scrapyd host), the
    configuration file, and the local-crawl settings when crawling a sample server."""
    out = {"KEITRUCKS_DB_PATH": str(db)}
    if config:
        out["KEITRUCKS_CONFIG"] = str(config)
    if base_url:
        out.update(LOCAL_SETTINGS)
    out.update(settings or {})
    return out


@dataclass
class _Job:
    source: str
    jobid: str | None
    error: str | None = None
    #: when a poll first saw it running (monotonic seconds).
    started: float | None = None
    cancelled_at: float | None = None
    killed: bool = False
    result: CrawlResult | None = None


def crawl_on_scrapyd(
    client: ScrapydClient,
    sources: Sequence[str],
    *,
    db: str | Path,
    as_of: str | None = None,
    base_url: str | None = None,
    config: str | Path | None = None,
    settings: Mapping[str, str] | None = None,
    timeout: float | None = None,
    kill_grace: float = DEFAULT_KILL_GRACE,
    poll_interval: float | None = None,
    on_done: Callable[[str, CrawlResult], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, CrawlResult]:
    """Schedule every source, wait for all jobs, and return a CrawlResult per source.

    A job over ``timeout`` seconds (pending or running) is cancelled with SIGTERM, then SIGKILL
    after ``kill_grace``; its result is ``timed_out``. A source Scrapyd would not schedule gets
    returncode -1 and the reason in ``stderr_tail``.
    """
    poll_interval = poll_interval or client.poll_interval
    args = {k: v for k, v in (("base_url", base_url), ("as_of", as_of)) if v}
    per_job = job_settings(db=db, config=config, base_url=base_url, settings=settings)
    jobs = []
    for source in sources:
        try:
            jobs.append(_Job(source, client.schedule(source, settings=per_job, args=args)))
            logger.info("%s: scheduled on %s", source, client.url)
        except ScrapydError as exc:
            jobs.append(_Job(source, None, error=str(exc)))
    for job in jobs:
        if job.jobid is None:
            _finish(job, CrawlResult(job.source, -1, None, f"not scheduled: {job.error}"), on_done)
    try:
        _wait(
            client,
            jobs,
            timeout=timeout,
            kill_grace=kill_grace,
            poll_interval=poll_interval,
            on_done=on_done,
            clock=clock,
            sleep=sleep,
        )
    except BaseException:  # the night is being stopped: do not leave jobs running on Scrapyd
        for job in jobs:
            if job.result is None:
                _cancel(client, job, "TERM")
        raise
    return {job.source: job.result for job in jobs}


def _wait(
    client, jobs: list[_Job], *, timeout, kill_grace, poll_interval, on_done, clock, sleep
) -> None:
    scheduled_at = clock()
    failures = 0
    while any(j.result is None for j in jobs):
        try:
            listing = client.list_jobs()
            failures = 0
        except ScrapydError as exc:
            failures += 1
            if failures >= 5:
                for job in jobs:
                    if job.result is None:
                        _finish(
                            job, CrawlResult(job.source, -1, None, f"lost track: {exc}"), on_done
                        )
                break
            sleep(poll_interval)
            continue
        state = {
            j["id"]: (name, j)
            for name in ("pending", "running", "finished")
            for j in listing.get(name, [])
        }
        now = clock()
        for job in jobs:
            if job.result is None:
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
        if any(j.result is None for j in jobs):
            sleep(poll_interval)


def _advance(
    client: ScrapydClient,
    job: _Job,
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


def _cancel(client: ScrapydClient, job: _Job, signal: str) -> str | None:
    try:
        return client.cancel(job.jobid, signal)
    except ScrapydError as exc:  # the next poll sees the job's state either way
        logger.warning("%s: could not cancel job %s: %s", job.source, job.jobid, exc)
        return None


def _finish(job: _Job, result: CrawlResult, on_done) -> None:
    job.result = result
    if on_done:
        on_done(job.source, result)


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
