"""Hostile query values never change a pipeline's argv structure.

Every value of the corpus is either refused with a QueryError or lands,
unchanged, inside exactly one argv element: the number of stages and of
elements per stage stays what a benign value gives.  A real pipeline run
shows that the reader receives the value verbatim and no shell ever runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core.errors import QueryError
from dasflex_core.model import (
    DAS2_BINARY,
    CommandDef,
    CommandRole,
    Param,
    ParamType,
    Site,
    SourceDef,
)
from dasflex_core.planner import Planner
from dasflex_core.runner import start_pipeline
from dasflex_core.sources.loader import load_site
from tests.support.paths import PROJECT_DIR

CORPUS = [
    "x;touch PWNED",
    "x && touch PWNED",
    "x | touch PWNED",
    "`touch PWNED`",
    "$(touch PWNED)",
    "${IFS}touch${IFS}PWNED",
    "x\ntouch PWNED",
    "x\r\ntouch PWNED",
    "x%253Btouch%2520PWNED",
    "x%3Btouch PWNED",
    "'; touch PWNED; '",
    '"; touch PWNED; "',
    "x\x00touch PWNED",
    "x > /tmp/PWNED",
    "< /etc/passwd",
    "../../../../etc/passwd",
    "--output=/tmp/PWNED",
    "-rf /",
    "a" * 100_000,
    "été ☃ 𝄞",
    "\u202etouch PWNED",
    "x\ttouch PWNED",
    "*",
    "~root",
    "#[read.time.min]",
    "@",
    "",
]

BENIGN = {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02"}


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(PROJECT_DIR / "examples" / "site")


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner()


def shape(stages: tuple[tuple[str, ...], ...]) -> list[int]:
    return [len(stage) for stage in stages]


# (source, key, benign value, extra query) for every kind of parameter
TARGETS = [
    ("Examples/Random", "read.opts", "fast", {}),
    ("Examples/Spectra", "read.opts", "smooth", {"format.type": "csv"}),
    ("Examples/Params", "read.opts", "BzEz", {"bin.time.max": "60"}),
    ("Examples/Auth", "read.opts", "x", {}),
    ("Examples/Random", "read.time.min", "2017-01-01", {}),
    ("Examples/Spectra", "bin.time.max", "60", {}),
    ("Examples/Waveform", "dft.length", "512", {}),
    ("Examples/Random", "format.delim", "comma", {"format.type": "csv"}),
    ("Examples/Random", "format.secfrac", "3", {"format.serial": "text"}),
]


@pytest.mark.parametrize(("source_id", "key", "benign", "extra"), TARGETS)
@pytest.mark.parametrize("value", CORPUS, ids=range(len(CORPUS)))
def test_hostile_values_never_change_the_argv_structure(
        site: Site, planner: Planner, source_id: str, key: str, benign: str,
        extra: dict[str, str], value: str) -> None:
    source = site.get(source_id)
    assert source is not None
    baseline = planner.plan(source, {**BENIGN, **extra, key: benign})
    try:
        result = planner.plan(source, {**BENIGN, **extra, key: value})
    except QueryError as exc:
        assert key in str(exc) or "time range" in str(exc)
        return
    if value == "":  # an empty value counts as absent: no element may be empty
        assert len(result.stages) <= len(baseline.stages)
        assert all(element for stage in result.stages for element in stage)
        return
    assert shape(result.stages) == shape(baseline.stages)
    elements = [element for stage in result.stages for element in stage]
    assert value in elements


def test_values_with_shell_syntax_are_refused_by_default(site: Site, planner: Planner) -> None:
    source = site.get("Examples/Random")
    assert source is not None
    for value in ("x;y", "`id`", "$(id)", "a|b", "a&b", "a'b", 'a"b', "a\nb", "a\x00b",
                  "a" * 100_000, "é"):
        with pytest.raises(QueryError, match="read.opts"):
            planner.plan(source, {**BENIGN, "read.opts": value})


def test_double_encoding_stays_literal(site: Site, planner: Planner) -> None:
    source = site.get("Examples/Random")
    assert source is not None
    result = planner.plan(source, {**BENIGN, "read.opts": "x%253Bid"})
    assert result.stages[0][-1] == "x%253Bid"


@pytest.mark.parametrize("key", ["start_time", "end_time", "resolution", "params"])
@pytest.mark.parametrize("value", ["2017-01-01;id", "`id`", "$(id)", "1\n2", "x" * 5000])
def test_legacy_keys_are_checked_too(site: Site, planner: Planner, key: str, value: str) -> None:
    source = site.get("Examples/Spectra")
    assert source is not None
    query = {"start_time": "2017-01-01", "end_time": "2017-01-02", key: value}
    with pytest.raises(QueryError):
        planner.plan(source, query, "das2")


ECHO_READER = """
import json, sys
sys.stdout.write(json.dumps(sys.argv[1:]))
"""


def test_the_reader_receives_values_verbatim_and_no_shell_runs(tmp_path: Path) -> None:
    script = tmp_path / "echo_reader.py"
    script.write_text(ECHO_READER)
    reader = CommandDef("reader", CommandRole.READER,
                        (sys.executable, str(script), "#[read.time.min]", "#[free#-f @#]"),
                        DAS2_BINARY, cwd=str(tmp_path))
    free = Param("free", ParamType.STRING, pattern=r"(?s).*", max_length=1000)
    source = SourceDef("Test/Echo", "Echo", str(tmp_path / "Echo.json"), commands=(reader,),
                       params=(free,))
    planner = Planner()
    for value in CORPUS[:12] + ["x%253Btouch PWNED", "été ☃", "#[read.time.min]"]:
        if any(ord(char) < 32 for char in value):
            with pytest.raises(QueryError, match="control character"):
                planner.plan(source, {"read.time.min": "2017-01-01", "free": value})
            continue
        result = planner.plan(source, {"read.time.min": "2017-01-01", "free": value})
        output = b"".join(start_pipeline(result.stages, cwd=result.cwd, error_format=None))
        assert json.loads(output) == ["2017-01-01T00:00:00", "-f", value]
    assert not (tmp_path / "PWNED").exists()
    assert not Path("PWNED").exists()


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=300), key=st.sampled_from(["read.opts", "read.time.min",
                                                        "bin.time.max", "format.delim"]))
def test_random_values_are_refused_or_kept_whole(site: Site, planner: Planner, value: str,
                                                 key: str) -> None:
    source = site.get("Examples/Spectra")
    assert source is not None
    query = {**BENIGN, "format.type": "csv", "bin.time.max": "60", key: value}
    try:
        result = planner.plan(source, query)
    except QueryError:
        return
    elements = [element for stage in result.stages for element in stage]
    assert all(element for element in elements)
    if value and key == "read.opts":
        assert shape(result.stages) == [5, 4, 1] and result.stages[0][-1] == value
