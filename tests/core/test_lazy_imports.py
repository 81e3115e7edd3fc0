"""Cold-start costs stay lazy: planning and scalar time parsing import no heavy module early."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter."""
    probe = code + ("\nimport sys\nprint(' '.join(m for m in ('numpy', 'networkx', 'jsonschema', "
                    "'pyarrow', 'netCDF4', 'lxml') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_the_planner_does_not_import_networkx() -> None:
    assert "networkx" not in _modules_after("import dasflex_core.planner")


def test_planning_still_solves_with_networkx() -> None:
    code = (
        "from dasflex_core.planner import plan\n"
        "from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY\n"
        "reader = CommandDef('reader', CommandRole.READER, ('rdr', '#[read.time.min]'), DAS2_BINARY)\n"
        "source = SourceDef('A/B', 'B', '/x/B.dsdf', commands=(reader,))\n"
        "assert plan(source, {'read.time.min': '2001-01-01', 'read.time.max': '2001-01-02'}).stages\n"
    )
    assert "networkx" in _modules_after(code)


def test_scalar_time_parsing_does_not_import_numpy() -> None:
    code = (
        "from dasflex_core.dastime import parse_time, parse_us2000, to_epoch\n"
        "assert parse_us2000('2000-01-01T00:00:01') == 1e6\n"
        "assert to_epoch(parse_time('2000-01-02'), 't2000') == 86400.0\n"
    )
    assert "numpy" not in _modules_after(code)


def test_lazy_time_names_resolve() -> None:
    from dasflex_core import dastime
    from dasflex_core.dastime import leap as dastime_leap
    from dasflex_core.dastime import vec as dastime_vec

    assert dastime.convert_times is dastime_vec.convert_times
    assert dastime.TIME_UNITS == dastime_vec.TIME_UNITS
    assert dastime.to_tt2000 is dastime_leap.to_tt2000
    assert dastime.to_epoch(dastime.parse_time("2017-01-01"), "TT2000") == 536500869184000000
    assert dastime.from_epoch(536500869184000000, "TT2000") == dastime.parse_time("2017-01-01")


def test_unknown_time_name_is_an_attribute_error() -> None:
    from dasflex_core import dastime

    try:
        dastime.no_such_name  # noqa: B018 - the attribute access is the test
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_the_table_programs_import_their_libraries_only_when_run() -> None:
    loaded = _modules_after("from dasflex_core.tools import das2_parquet, das2_netcdf, "
                            "das2_votable, das2_json, das2_plaincsv")
    assert not loaded & {"pyarrow", "netCDF4", "lxml", "numpy"}


def test_planning_a_table_format_does_not_import_its_library() -> None:
    code = (
        "from dasflex_core.planner import plan\n"
        "from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY\n"
        "reader = CommandDef('reader', CommandRole.READER, ('rdr', '#[read.time.min]'), DAS2_BINARY)\n"
        "source = SourceDef('A/B', 'B', '/x/B.dsdf', commands=(reader,))\n"
        "query = {'read.time.min': '2001-01-01', 'read.time.max': '2001-01-02'}\n"
        "assert plan(source, {**query, 'format.type': 'parquet'}).stages[-1] == ('das2_parquet',)\n"
        "assert plan(source, {**query, 'format.type': 'netcdf'}).stages[-1] == ('das2_netcdf',)\n"
    )
    assert not _modules_after(code) & {"pyarrow", "netCDF4", "lxml"}
