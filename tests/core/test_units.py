"""units: das2C's canonical spellings, classification and scale factors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dasflex_core.errors import QueryError
from dasflex_core.units import (
    SECONDS_PER_UNIT,
    canonical_units,
    convertible_to_hertz,
    convertible_to_seconds,
    format_units,
    interval_to_seconds,
    interval_units,
    is_calendar,
    parse_units,
    scale_factor,
    seconds_per_unit,
)


def _rows(conformance_dir: Path) -> list[list[str]]:
    lines = (conformance_dir / "units" / "units.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if not line.startswith("#")]


@pytest.mark.conformance
def test_units_table(conformance_dir: Path) -> None:
    rows = _rows(conformance_dir)
    assert len(rows) > 40
    for text, canonical, calendar, seconds, hertz in rows:
        if canonical == "ERROR":
            with pytest.raises(QueryError):
                canonical_units(text)
            assert format_units(text) == text
            continue
        assert canonical_units(text) == canonical, text
        assert format_units(text) == canonical
        assert (is_calendar(text), convertible_to_seconds(text), convertible_to_hertz(text)) \
            == (calendar == "1", seconds == "1", hertz == "1"), text


@pytest.mark.parametrize(("text", "canonical"), [
    ("V / m", "V m**-1"),
    ("(V/m)", "V m**-1"),
    ("a/b/c", "a b**-1 c**-1"),
    ("m**1/2", "m**1/2"),
    ("m**2/4", "m**1/2"),
    ("m^+2", "m**2"),
    ("m**10", "m**10"),
    ("hour", "hours"),
    ("hr", "hours"),
    ("day", "days"),
    ("Seconds", "s"),
    ("kilometers", "km"),
    ("microseconds", "μs"),
    ("Ω", "Ω"),
    ("\u2126", "Ω"),
    ("°C", "°C"),
    ("  nT  ", "nT"),
])
def test_canonical_spellings(text: str, canonical: str) -> None:
    assert canonical_units(text) == canonical


@pytest.mark.parametrize("text", ["1/s", "R_J", "log10Ratio", "m**", "m**0", "m**2x",
                                  "m**1/0", "m*s", "V/2"])
def test_unparsable_units(text: str) -> None:
    with pytest.raises(QueryError, match="cannot parse units"):
        canonical_units(text)


def test_parse_units_components() -> None:
    components = parse_units("V**2 m**-2 / Hz")
    assert [str(component) for component in components] == ["V**2", "m**-2", "Hz**-1"]


@pytest.mark.parametrize(("source", "target", "factor"), [
    ("ms", "s", 1e-3), ("s", "ms", 1e3), ("ms", "μs", 1e3), ("ns", "s", 1e-9),
    ("hours", "s", 3600.0), ("days", "hours", 24.0), ("min", "s", 60.0),
    ("kHz", "Hz", 1e3), ("GHz", "MHz", 1e3), ("Hz", "kHz", 1e-3), ("s**-1", "Hz", 1.0),
    ("km", "m", 1e3), ("V/m", "mV m**-1", 1e3), ("nT**2 Hz**-1", "nT^2/Hz", 1.0),
])
def test_scale_factor(source: str, target: str, factor: float) -> None:
    assert scale_factor(source, target) == factor


def test_scale_factor_rejects_incompatible_and_epoch_units() -> None:
    with pytest.raises(QueryError, match="cannot be converted"):
        scale_factor("s", "Hz")
    with pytest.raises(QueryError, match="time point"):
        scale_factor("us2000", "t2000")


def test_interval_helpers() -> None:
    assert interval_to_seconds(1.5, "hours") == 5400.0
    assert interval_to_seconds(250, "ms") == 0.25
    assert interval_to_seconds(2, "Hz**-1") == 2.0
    with pytest.raises(QueryError):
        interval_to_seconds(1, "Hz")
    with pytest.raises(QueryError):
        interval_to_seconds(1, "us2000")
    assert interval_units("us2000") == "μs"
    assert interval_units("mj1958") == "days"
    assert interval_units("nT") == "nT"


def test_classification_of_odd_strings() -> None:
    assert not convertible_to_seconds("")
    assert not convertible_to_seconds("1/s")
    assert convertible_to_hertz("MHz")
    assert is_calendar(" us2000 ")
    assert not is_calendar("US2000")


# --------------------------------------------------------------------------
# SECONDS_PER_UNIT: the one seconds-per-unit table, and the modules that ask it


def test_seconds_per_unit_table_agrees_with_the_unit_algebra() -> None:
    for name, seconds in SECONDS_PER_UNIT.items():
        if name in ("us", "h", "d", "secs", "mins", "hrs"):  # spellings das2C does not parse
            continue
        assert interval_to_seconds(1, name) == float(seconds), name


@pytest.mark.parametrize(("name", "seconds"), [
    ("s", 1.0), ("sec", 1.0), ("seconds", 1.0), ("ms", 1e-3), ("milliseconds", 1e-3),
    ("\u03bcs", 1e-6), ("\u00b5s", 1e-6), ("us", 1e-6), ("ns", 1e-9), (" min ", 60.0),
    ("minutes", 60.0), ("h", 3600.0), ("hr", 3600.0), ("hours", 3600.0), ("d", 86400.0),
    ("days", 86400.0),
])
def test_seconds_per_unit(name: str, seconds: float) -> None:
    assert seconds_per_unit(name) == seconds


@pytest.mark.parametrize("name", ["m", "Hz", "us2000", "", "S", "kg"])
def test_seconds_per_unit_knows_only_intervals(name: str) -> None:
    assert seconds_per_unit(name) is None


def test_definitions_durations_ask_the_table() -> None:
    from dasflex_core.sources.common import parse_duration

    assert parse_duration("250 ms") == 0.25
    assert parse_duration("2hr") == 7200.0
    assert parse_duration("10 m") == 600.0  # m is minutes in a duration, not metres
    assert parse_duration("3 d") == 3 * 86400.0
    assert parse_duration("7") == 7.0
    with pytest.raises(ValueError, match="unknown time unit"):
        parse_duration("1 parsec")


def test_tools_ask_the_table() -> None:
    from dasflex_core.tools.psd import stream, units

    assert units.hertz_scale("days**-1") == pytest.approx(1 / 86400.0)
    assert stream._convert_interval(1.5, "hours", "ms") == 5.4e6
    assert stream._convert_interval(2.0, "furlongs", "s") == 2.0
