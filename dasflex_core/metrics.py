"""Prometheus metrics and daily usage statistics.

:class:`Metrics` is owned by one application (no module state).  It counts
finished requests and their durations by source, protocol and status, tracks
the running readers, and renders the Prometheus text exposition format.

Several processes (gunicorn workers) each hold their own :class:`Metrics`.
Give them one ``state_dir``: after a request each worker writes its counters
to ``metrics-<pid>.json`` there (atomically, at most once per
:data:`FLUSH_SECONDS`; a timer writes the last ones), and ``/metrics``
answers the sum over every file, so any worker gives the whole server's
figures.  Running readers only count workers that are still alive.

:func:`usage_by_day` computes requests, bytes and distinct clients per
source per day from request log records (see :mod:`dasflex_core.requestlog`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CONTENT_TYPE", "DURATION_BUCKETS", "DailyUsage", "Metrics", "usage_by_day"]

#: Content type of the Prometheus text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Upper bounds (seconds) of the request duration histogram.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
SNAPSHOT_PREFIX = "metrics-"
#: Seconds between two writes of a worker's snapshot file, at least.
FLUSH_SECONDS = 1.0


class Metrics:
    """Request counters and duration histograms of one process."""

    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._bytes: dict[tuple[str, str], int] = {}
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._sums: dict[tuple[str, str], float] = {}
        self._in_flight: set[int] = set()
        self._running: dict[int, Any] = {}
        self.cache_hits = 0
        self._last_flush = float("-inf")
        self._flush_pending = False
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)

    # -- recording ---------------------------------------------------------

    def request_started(self, record: Any) -> None:
        """Note a request in progress (its pipeline, once set, is a running reader)."""
        with self._lock:
            self._running[id(record)] = record

    def request_finished(self, record: Any, document: Mapping[str, Any]) -> None:
        """Count a finished request from its log ``document``."""
        with self._lock:
            self._running.pop(id(record), None)
            self._count(document)
        if self.state_dir is not None:
            self._schedule_flush()

    def _count(self, document: Mapping[str, Any]) -> None:
        source = str(document.get("source") or "")
        protocol = str(document.get("protocol") or "other")
        status = str(document.get("status") or 0)
        key = (source, protocol)
        self._requests[(source, protocol, status)] = self._requests.get(
            (source, protocol, status), 0) + 1
        self._bytes[key] = self._bytes.get(key, 0) + int(document.get("bytes") or 0)
        duration = float(document.get("duration") or 0.0)
        buckets = self._buckets.setdefault(key, [0] * (len(DURATION_BUCKETS) + 1))
        for index, bound in enumerate(DURATION_BUCKETS):
            if duration <= bound:
                buckets[index] += 1
        buckets[-1] += 1
        self._sums[key] = self._sums.get(key, 0.0) + duration
        pipeline = document.get("pipeline") or {}
        if pipeline.get("cache_level") is not None:
            self.cache_hits += 1

    def running_readers(self) -> int:
        """Requests of this process whose pipeline is running now."""
        with self._lock:
            return sum(1 for record in self._running.values()
                       if getattr(record, "pipeline", None) is not None)

    # -- state shared between processes -------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """This process's counters as a JSON-ready mapping."""
        with self._lock:
            return {
                "pid": os.getpid(),
                "requests": [[*key, count] for key, count in self._requests.items()],
                "bytes": [[*key, count] for key, count in self._bytes.items()],
                "buckets": [[*key, counts] for key, counts in self._buckets.items()],
                "sums": [[*key, total] for key, total in self._sums.items()],
                "cache_hits": self.cache_hits,
            }

    def _schedule_flush(self) -> None:
        """Write the snapshot now, or once :data:`FLUSH_SECONDS` after the last write."""
        with self._lock:
            if self._flush_pending:
                return
            wait = self._last_flush + FLUSH_SECONDS - time.monotonic()
            if wait > 0:
                self._flush_pending = True
                timer = threading.Timer(wait, self.flush)
                timer.daemon = True
                timer.start()
                return
        self.flush()

    def flush(self) -> None:
        """Write this process's snapshot to ``state_dir`` (if there is one)."""
        with self._lock:
            self._flush_pending = False
            self._last_flush = time.monotonic()
        if self.state_dir is not None:
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        assert self.state_dir is not None
        snapshot = self.snapshot()
        snapshot["running"] = self.running_readers()
        target = self.state_dir / f"{SNAPSHOT_PREFIX}{os.getpid()}.json"
        temporary = target.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(snapshot), encoding="utf-8")
            os.replace(temporary, target)
        except OSError:  # metrics must never fail a request
            pass

    def _snapshots(self) -> list[dict[str, Any]]:
        """Every process's snapshot: this one live, the others from ``state_dir``."""
        own = self.snapshot()
        own["running"] = self.running_readers()
        found = [own]
        if self.state_dir is None:
            return found
        for path in sorted(self.state_dir.glob(f"{SNAPSHOT_PREFIX}*.json")):
            try:
                other = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(other, dict) or other.get("pid") == own["pid"]:
                continue
            if not _alive(int(other.get("pid") or 0)):
                other["running"] = 0
            found.append(other)
        return found

    # -- exposition --------------------------------------------------------

    def render(self) -> str:
        """The Prometheus text exposition of every process's counters."""
        merged = _merge(self._snapshots())
        lines: list[str] = []
        _family(lines, "dasflex_requests_total", "counter",
                "Finished requests by source, protocol and HTTP status.")
        for (source, protocol, status), count in sorted(merged["requests"].items()):
            labels = _labels(source=source, protocol=protocol, status=status)
            lines.append(f"dasflex_requests_total{labels} {count}")
        _family(lines, "dasflex_response_bytes_total", "counter",
                "Body bytes sent by source and protocol.")
        for (source, protocol), count in sorted(merged["bytes"].items()):
            lines.append(f"dasflex_response_bytes_total{_labels(source=source, protocol=protocol)}"
                         f" {count}")
        _family(lines, "dasflex_request_duration_seconds", "histogram",
                "Request durations by source and protocol.")
        for (source, protocol), counts in sorted(merged["buckets"].items()):
            _histogram(lines, source, protocol, counts, merged["sums"].get((source, protocol), 0.0))
        _family(lines, "dasflex_running_readers", "gauge", "Pipelines running now.")
        lines.append(f"dasflex_running_readers {merged['running']}")
        _family(lines, "dasflex_cache_hits_total", "counter", "Requests answered from the cache.")
        lines.append(f"dasflex_cache_hits_total {merged['cache_hits']}")
        return "\n".join(lines) + "\n"


def _merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"requests": {}, "bytes": {}, "buckets": {}, "sums": {},
                              "running": 0, "cache_hits": 0}
    for snapshot in snapshots:
        for *key, count in snapshot.get("requests", ()):
            merged["requests"][tuple(key)] = merged["requests"].get(tuple(key), 0) + int(count)
        for *key, count in snapshot.get("bytes", ()):
            merged["bytes"][tuple(key)] = merged["bytes"].get(tuple(key), 0) + int(count)
        for *key, counts in snapshot.get("buckets", ()):
            total = merged["buckets"].setdefault(tuple(key), [0] * len(counts))
            merged["buckets"][tuple(key)] = [a + int(b) for a, b in zip(total, counts, strict=False)]
        for *key, value in snapshot.get("sums", ()):
            merged["sums"][tuple(key)] = merged["sums"].get(tuple(key), 0.0) + float(value)
        merged["running"] += int(snapshot.get("running") or 0)
        merged["cache_hits"] += int(snapshot.get("cache_hits") or 0)
    return merged


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def _histogram(lines: list[str], source: str, protocol: str, counts: list[int],
               total: float) -> None:
    name = "dasflex_request_duration_seconds"
    for bound, count in zip(DURATION_BUCKETS, counts, strict=False):
        lines.append(f"{name}_bucket{_labels(source=source, protocol=protocol, le=f'{bound:g}')}"
                     f" {count}")
    lines.append(f"{name}_bucket{_labels(source=source, protocol=protocol, le='+Inf')} {counts[-1]}")
    lines.append(f"{name}_sum{_labels(source=source, protocol=protocol)} {total:.6f}")
    lines.append(f"{name}_count{_labels(source=source, protocol=protocol)} {counts[-1]}")


def _labels(**labels: str) -> str:
    """``{a="x",b="y"}`` with label values escaped as the format requires."""
    parts = []
    for name, value in labels.items():
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        parts.append(f'{name}="{escaped}"')
    return "{" + ",".join(parts) + "}"


@dataclass
class DailyUsage:
    """Requests, bytes and distinct clients of one source on one day."""

    day: str
    source: str
    requests: int = 0
    bytes: int = 0
    clients: int = 0


def usage_by_day(records: Iterable[Mapping[str, Any]]) -> list[DailyUsage]:
    """Usage per (UTC day, source) from request log records, sorted by day then source.

    Requests that named no source (pages, catalogs) count under source ``""``.
    """
    totals: dict[tuple[str, str], DailyUsage] = {}
    clients: dict[tuple[str, str], set[str]] = {}
    for record in records:
        key = (str(record.get("time", ""))[:10], str(record.get("source") or ""))
        usage = totals.setdefault(key, DailyUsage(*key))
        usage.requests += 1
        usage.bytes += int(record.get("bytes") or 0)
        clients.setdefault(key, set()).add(str(record.get("client", "")))
    for key, usage in totals.items():
        usage.clients = len(clients[key])
    return [totals[key] for key in sorted(totals)]
