"""Prometheus metrics: what an operator of the HTTP server watches, counted where it happens, rendered on scrape.

Counted here, in one registry of this module (beside the process's CPU, memory and open files), once `enable()`
was called:

- `cdp_mcp_tool_calls_total{tool, outcome}`: each tool call (and read of the overview or screening resources), by the
  call guard; outcome `ok`, the error code, or `cancelled`. `cdp_mcp_tool_call_duration_seconds{tool}`: its time.
- `cdp_mcp_upstream_requests_total{resource, status}`: each request sent to the API (retries too) by the API
  client: the resource, or `token create`/`token update`; the HTTP status, or `error` when no answer came.
- `cdp_mcp_token_operations_total{operation, outcome}`: token creations and updates asked of the token API.
- `cdp_mcp_token_creations_left`, `cdp_mcp_token_creations_limit`: the daily allowance, read from the token state
  at each scrape.
- `cdp_mcp_rate_limit_refusals_total`, `cdp_mcp_audit_write_failures_total`.
- `cdp_mcp_screening_jobs_total{event}`, `cdp_mcp_screening_jobs_running`, and
  `cdp_mcp_screening_rows_total{via, outcome}` (rows by screen_customers, by screen_audience within the call,
  and by screening jobs).

Every label takes values from a small, fixed set (tool names from the tool table, error codes from errors.py,
resource names from the catalog, HTTP statuses): never an identifier, a principal, a token or a URL, which would
leak and make series without bound. Token creations left is the figure the whole tenant shares: with
CDP_REDIS_URL every replica reads the same ledger, so alert on `min(cdp_mcp_token_creations_left)`, never a sum.

The counters are process-wide (one process is one Prometheus target). They are served by the HTTP transport only
(`http_app`: on CDP_MCP_METRICS_PORT, or behind CDP_MCP_METRICS_TOKEN), which calls `enable()` when it serves
them: until then (over stdio, always) each recording function returns at once and prometheus-client is not even
imported. Enabled, recording is a few dictionary additions: every recording and every scrape happen on the event
loop's thread, so the tallies need no lock (prometheus-client's own metric objects take one per addition, several
times the cost), and prometheus-client renders them at scrape time (text or OpenMetrics), beside its process
collectors. tests/bench/bench_metrics.py measures what recording adds to a call, and a scrape.

The job engine (jobs/engine.py) calls `screening_job_started()` when a job starts running on this replica,
`screening_job_ended(event)` when it stops here (`completed`, `stopped`, `cancelled`, `failed`, or `handed over`
when another replica took its lease or this one stops), and `screening_rows("job", outcome, count)` after each
chunk with the rows of each outcome (`ROW_OUTCOMES`: `eligible`, `not_in_segment`, `not_contactable`, `lapsed`,
`not_found`, `error`).
A value outside these sets raises `ValueError` (a typo would otherwise start a series nobody queries).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

import anyio

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

__all__ = [
    "JOB_ENDINGS",
    "ROW_OUTCOMES",
    "SCREENED_BY",
    "AllowanceReading",
    "allowance_source",
    "audit_write_failed",
    "enable",
    "enabled",
    "rate_limit_refused",
    "render",
    "screening_job_ended",
    "screening_job_started",
    "screening_rows",
    "token_operation",
    "tool_call",
    "upstream_request",
]

logger = logging.getLogger(__name__)

_PREFIX = "cdp_mcp"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: from a cached answer (milliseconds) to CDP_CALL_TIMEOUT's default (30 s) and past it."""
JOB_ENDINGS = ("completed", "stopped", "cancelled", "failed", "handed over")
"""How a screening job stops running on a replica (`screening_job_ended`)."""
ROW_OUTCOMES = ("eligible", "not_in_segment", "not_contactable", "lapsed", "not_found", "error")
"""A screened row's outcome: the first check it failed, or eligible (`screening_rows`)."""
SCREENED_BY = ("screen_customers", "screen_audience", "job")
"""What screened rows (`screening_rows`): the tools within the call (screen_audience up to 100 rows), or a job."""
_ALLOWANCE_TIMEOUT = 2.0
"""Seconds a scrape waits for the token state (a file, or Redis) before leaving the allowance out."""


class AllowanceReading(Protocol):
    """What the token state says of the daily allowance (the broker's `Allowance` is one)."""

    @property
    def limit(self) -> int: ...

    @property
    def remaining(self) -> int: ...


_sources: list[Callable[[], Awaitable[AllowanceReading]]] = []
"""Where scrapes read the daily allowance: the open backends' brokers (the last opened is asked)."""


class _Tally:
    """A counter (or, with `gauge`, a gauge) by label values: plain additions on the event loop's thread."""

    __slots__ = ("gauge", "help", "labels", "name", "values")

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), *, gauge: bool = False) -> None:
        self.name, self.help, self.labels, self.gauge = f"{_PREFIX}_{name}", help_text, list(labels), gauge
        self.values: dict[tuple[str, ...], float] = {} if labels else {(): 0.0}

    def add(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def family(self) -> Metric:
        from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily  # noqa: PLC0415

        family = (GaugeMetricFamily if self.gauge else CounterMetricFamily)(self.name, self.help, labels=self.labels)
        for key, value in self.values.items():
            family.add_metric(list(key), value)
        return family


class _Latency:
    """A histogram of seconds by one label: bucket counts and the sum, kept as plain numbers."""

    __slots__ = ("help", "label", "name", "values")

    def __init__(self, name: str, help_text: str, label: str) -> None:
        self.name, self.help, self.label = f"{_PREFIX}_{name}", help_text, label
        self.values: dict[str, tuple[list[int], list[float]]] = {}

    def observe(self, key: str, seconds: float) -> None:
        counts, total = self.values.get(key) or self.values.setdefault(key, ([0] * (len(_LATENCY_BUCKETS) + 1), [0.0]))
        counts[bisect.bisect_left(_LATENCY_BUCKETS, seconds)] += 1  # the first bucket whose bound is >= seconds
        total[0] += seconds

    def family(self) -> Metric:
        from prometheus_client.metrics_core import HistogramMetricFamily  # noqa: PLC0415
        from prometheus_client.utils import floatToGoString  # noqa: PLC0415

        family = HistogramMetricFamily(self.name, self.help, labels=[self.label])
        bounds = [floatToGoString(b) for b in _LATENCY_BUCKETS] + ["+Inf"]
        for key, (counts, total) in self.values.items():
            cumulative, running = [], 0
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                cumulative.append((bound, float(running)))
            family.add_metric([key], cumulative, sum_value=total[0])
        return family


class _Instruments:
    """The tallies and the registry that renders them, made by `enable()` (see the module docstring)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry  # noqa: PLC0415 - when enabled
        from prometheus_client.gc_collector import GCCollector  # noqa: PLC0415
        from prometheus_client.platform_collector import PlatformCollector  # noqa: PLC0415
        from prometheus_client.process_collector import ProcessCollector  # noqa: PLC0415

        self.tool_calls = _Tally("tool_calls", "Tool calls (and reads of the overview and screening resources) by "
                                 "tool and outcome: ok, the error code, or cancelled", ("tool", "outcome"))
        self.tool_seconds = _Latency("tool_call_duration_seconds", "Time a tool call took, refusals included", "tool")
        self.upstream = _Tally("upstream_requests", "Requests to the Customer Profile API (retries included) by "
                               "resource or token call and HTTP status; status error: no answer (connection "
                               "failure, timeout)", ("resource", "status"))
        self.tokens = _Tally("token_operations", "Token creations (each spends one of the tenant's daily creations) "
                             "and updates (free) asked of the token API, by outcome", ("operation", "outcome"))
        self.rate_limited = _Tally("rate_limit_refusals", "Tool calls refused by the per-person rate limit "
                                   "(CDP_MCP_RATE_LIMIT)")
        self.audit_failures = _Tally("audit_write_failures", "Audit lines that could not be written")
        self.jobs = _Tally("screening_jobs", "Screening jobs started on this replica, and how they stopped here",
                           ("event",))
        self.jobs_running = _Tally("screening_jobs_running", "Screening jobs running on this replica", gauge=True)
        self.rows = _Tally("screening_rows", "Customers screened, by the tool or a screening job, and outcome",
                           ("via", "outcome"))
        self.allowance: AllowanceReading | None = None
        # Never the default registry: an application embedding the server keeps its own.
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(self)  # a collector: `collect` yields the tallies and the allowance

    async def refresh_allowance(self) -> None:
        """Read the daily allowance for this scrape: absent until a backend is open, or when the token state
        cannot be read in time, rather than a made-up 0."""
        self.allowance = None
        if not _sources:
            return
        try:
            with anyio.fail_after(_ALLOWANCE_TIMEOUT):
                self.allowance = await _sources[-1]()
        except Exception as exc:  # noqa: BLE001 - a scrape shows the other metrics whatever the token state does
            logger.debug("token allowance not read for the metrics (%s)", type(exc).__name__)

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.metrics_core import GaugeMetricFamily  # noqa: PLC0415

        yield self.tool_calls.family()
        yield self.tool_seconds.family()
        for tally in (self.upstream, self.tokens, self.rate_limited, self.audit_failures, self.jobs,
                      self.jobs_running, self.rows):
            yield tally.family()
        if self.allowance is not None:
            yield GaugeMetricFamily(f"{_PREFIX}_token_creations_left", "Token creations the tenant's daily allowance "
                                    "still allows in the rolling 24 hours (shared by every replica on one Redis)",
                                    value=self.allowance.remaining)
            yield GaugeMetricFamily(f"{_PREFIX}_token_creations_limit", "The tenant's daily token creation limit "
                                    "(CDP_TOKEN_DAILY_LIMIT)", value=self.allowance.limit)


class _State:
    instruments: _Instruments | None = None


def enable() -> CollectorRegistry:
    """Start recording (idempotent): what serving the metrics does. Returns the registry a scrape renders."""
    if _State.instruments is None:
        _State.instruments = _Instruments()
    return _State.instruments.registry


def enabled() -> bool:
    return _State.instruments is not None


def tool_call(tool: str, outcome: str, seconds: float) -> None:
    """One tool call ended: `tool` from the tool table, `outcome` `ok`, an error code or `cancelled`."""
    if (on := _State.instruments) is not None:
        on.tool_calls.add((tool, outcome))
        on.tool_seconds.observe(tool, seconds)


def upstream_request(resource: str, status: int | None) -> None:
    """One request to the API was answered with HTTP `status` (None: no answer came)."""
    if (on := _State.instruments) is not None:
        on.upstream.add((resource, "error" if status is None else str(status)))


def token_operation(operation: str, outcome: str) -> None:
    """A token `create` or `update` ended: `ok` or the error code."""
    if (on := _State.instruments) is not None:
        on.tokens.add((operation, outcome))


def rate_limit_refused() -> None:
    if (on := _State.instruments) is not None:
        on.rate_limited.add(())


def audit_write_failed() -> None:
    if (on := _State.instruments) is not None:
        on.audit_failures.add(())


def screening_job_started() -> None:
    """A screening job started (or resumed) running on this replica."""
    if (on := _State.instruments) is not None:
        on.jobs.add(("started",))
        on.jobs_running.add(())


def screening_job_ended(event: str) -> None:
    """A job that `screening_job_started` counted stopped running here; `event` is one of `JOB_ENDINGS`."""
    if event not in JOB_ENDINGS:
        raise ValueError(f"screening job event {event!r} is not one of {', '.join(JOB_ENDINGS)}")
    if (on := _State.instruments) is not None:
        on.jobs.add((event,))
        on.jobs_running.add((), -1)


def screening_rows(via: str, outcome: str, count: int = 1) -> None:
    """`count` customers screened with `outcome` (one of `ROW_OUTCOMES`), by `via` (one of `SCREENED_BY`)."""
    if via not in SCREENED_BY or outcome not in ROW_OUTCOMES:
        raise ValueError(f"screened rows are counted by {SCREENED_BY} with {ROW_OUTCOMES}, not {via!r}, {outcome!r}")
    if count and (on := _State.instruments) is not None:
        on.rows.add((via, outcome), count)


@contextmanager
def allowance_source(read: Callable[[], Awaitable[AllowanceReading]]) -> Iterator[None]:
    """While the block runs, scrapes read the daily allowance with `read` (the backend's broker)."""
    _sources.append(read)
    try:
        yield
    finally:
        _sources.remove(read)


async def render(accept: str | None = None) -> tuple[bytes, str]:
    """The exposition a scrape gets (OpenMetrics when its Accept header asks), and its content type."""
    from prometheus_client.exposition import choose_encoder  # noqa: PLC0415 - imported with the rest already

    registry = enable()
    instruments = _State.instruments
    if instruments is not None:
        await instruments.refresh_allowance()
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
