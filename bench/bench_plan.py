"""Planning speed: plan() on a loaded site, and the cold start a CGI request pays.

Rows: ``plan_<case>`` with the median (and 90th percentile) time of one
``Planner.plan`` call in microseconds on the bundled example site (graphs
cached, as in a long-running server), and whether the median is within the
budget of :data:`PLAN_BUDGET_US` (5 ms: planning must stay negligible next to
starting a reader); ``cold_start_plan`` with the median
wall time in milliseconds of a fresh ``python -c`` that imports dasflex,
loads the example site and plans one request (what a CGI process pays), and
``cold_start_python`` the bare interpreter start for comparison.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SITE_DIR = PROJECT_DIR / "examples" / "site"

#: A plan must take well under the time a reader takes to start.
PLAN_BUDGET_US = 5000.0

CASES = {
    "raw": ("Examples/Random", "flex", {"read.time.min": "2017-01-01",
                                        "read.time.max": "2017-01-02"}),
    "reduced_csv": ("Examples/Spectra", "flex", {"read.time.min": "1979-03-01",
                                                 "read.time.max": "1979-03-02",
                                                 "bin.time.max": "43.2", "format.type": "csv"}),
    "psd_reduced_text": ("Examples/Waveform", "flex", {
        "read.time.min": "1979-03-01T12:00", "read.time.max": "1979-03-01T13:00",
        "dft.length": "1024", "bin.time.max": "10", "format.serial": "text"}),
    "psd_reduced_csv": ("Examples/Waveform", "flex", {
        "read.time.min": "1979-03-01T12:00", "read.time.max": "1979-03-01T13:00",
        "dft.length": "1024", "bin.time.max": "10", "format.type": "csv"}),
    "das2_legacy": ("Examples/Params", "das2", {"start_time": "2008-06-29",
                                                "end_time": "2008-06-30", "resolution": "43.2",
                                                "params": "BzEz complex", "ascii": "1"}),
}

COLD_START = (
    "from pathlib import Path\n"
    "from dasflex_core.sources.loader import load_site\n"
    "from dasflex_core.planner import plan\n"
    f"site = load_site(Path({str(SITE_DIR)!r}))\n"
    "plan(site, {'start_time': '2017-01-01', 'end_time': '2017-01-02', 'resolution': '60'},\n"
    "     'das2', source_id='Examples/Spectra')\n"
)


def _time_plans(repeats: int) -> list[dict]:
    """Median and p90 of Planner.plan per case, in microseconds."""
    from dasflex_core.planner import Planner
    from dasflex_core.sources.loader import load_site

    site = load_site(SITE_DIR)
    planner = Planner()
    rows = []
    for name, (source_id, convention, query) in CASES.items():
        source = site.get(source_id)
        assert source is not None
        planner.plan(source, query, convention)
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            planner.plan(source, query, convention)
            timings.append((time.perf_counter() - start) * 1e6)
        timings.sort()
        median = statistics.median(timings)
        rows.append({"name": f"plan_{name}", "median_us": round(median, 1),
                     "p90_us": round(timings[int(len(timings) * 0.9)], 1), "repeats": repeats,
                     "within_budget": median < PLAN_BUDGET_US})
    return rows


def _time_command(argv: list[str], repeats: int) -> float:
    """Median wall time of running ``argv``, in milliseconds."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL)
        timings.append((time.perf_counter() - start) * 1e3)
    return statistics.median(timings)


def run(workdir: Path) -> list[dict]:
    """Measure planning; ``workdir`` is unused (nothing is written)."""
    rows = _time_plans(repeats=2000)
    python_ms = _time_command([sys.executable, "-c", "pass"], repeats=7)
    cold_ms = _time_command([sys.executable, "-c", COLD_START], repeats=7)
    rows.append({"name": "cold_start_python", "median_ms": round(python_ms, 1)})
    rows.append({"name": "cold_start_plan", "median_ms": round(cold_ms, 1),
                 "over_python_ms": round(cold_ms - python_ms, 1)})
    return rows


if __name__ == "__main__":
    for row in run(Path(".")):
        print(row)
