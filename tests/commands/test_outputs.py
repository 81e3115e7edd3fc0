"""What a source can be asked for: output_formats, format.style, required modules, discovery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dasflex_core.cli.check_cmd import off_message
from dasflex_core.commands import builtin_commands
from dasflex_core.commands.extras import install_hint
from dasflex_core.commands.requirements import module_available, unavailable_outputs
from dasflex_core.errors import NoPipelineError
from dasflex_core.model import DAS2_BINARY, CommandDef, CommandRole, SourceDef
from dasflex_core.planner import Planner, default_planner, planner_for_site
from dasflex_core.protocols.html import format_choices
from dasflex_core.sources.loader import load_command_table, load_site
from tests.support.paths import EXAMPLE_SITE

QUERY = {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02"}
NEW_TYPES = {"parquet", "netcdf", "votable", "json"}


def make_source(source_id: str = "A/B") -> SourceDef:
    reader = CommandDef("reader", CommandRole.READER, ("rdr", "#[read.time.min]"), DAS2_BINARY)
    return SourceDef(source_id, "B", "/x/B.dsdf", commands=(reader,))


def test_every_output_of_every_example_plans_to_its_stream() -> None:
    site = load_site(EXAMPLE_SITE)
    planner = planner_for_site(site)
    for source in site:
        outputs = planner.output_formats(source)
        assert NEW_TYPES <= {o.type for o in outputs}, source.id
        assert len({o.key for o in outputs}) == len(outputs)
        settings = dict(source.examples[0].settings)
        for output in outputs:
            result = planner.plan(source, {**settings, **output.query})
            assert result.output == str(output.stream), (source.id, output.key)
            assert result.mime == output.mime and result.filename.endswith(output.extension)


def test_outputs_name_their_query_keys() -> None:
    found = {o.key: o for o in default_planner().output_formats(make_source())}
    assert found["votable/binary"].query == {"format.type": "votable", "format.serial": "binary"}
    assert found["hapi/json"].query == {"format.type": "hapi", "format.version": "json"}
    assert found["parquet"].mime == "application/vnd.apache.parquet"
    assert found["netcdf"].extension == "nc"


def test_a_source_that_redirects_offers_nothing() -> None:
    source = SourceDef("A/B", "B", "/x/B.dsdf", server="http://elsewhere.example.org/das")
    assert default_planner().output_formats(source) == ()


@pytest.mark.parametrize(("convention", "query", "stage"), [
    ("flex", {"format.type": "csv", "format.style": "plain"}, ("das2_plaincsv",)),
    ("flex", {"format.style": "plain"}, ("das2_plaincsv",)),
    ("flex", {"format.type": "csv"}, ("das3_csv",)),
    ("flex", {"format.type": "csv", "format.style": "plain", "format.secfrac": "3"},
     ("das2_plaincsv", "-s", "3")),
    ("das2", {"style": "plain"}, ("das2_plaincsv",)),
    ("das2", {}, None),
])
def test_format_style_selects_the_plain_csv(convention: str, query: dict[str, str],
                                            stage: tuple[str, ...] | None) -> None:
    keys = QUERY if convention == "flex" else {"start_time": QUERY["read.time.min"],
                                                "end_time": QUERY["read.time.max"]}
    result = Planner().plan(make_source(), {**keys, **query}, convention)
    assert result.stages[-1] == (stage or ("rdr", "2017-01-01T00:00:00"))


def test_a_style_the_format_lacks_is_refused_clearly() -> None:
    with pytest.raises(NoPipelineError, match="'das/plain'"):
        Planner().plan(make_source(), {**QUERY, "format.type": "das", "format.style": "plain"})


def site_table(tmp_path: Path) -> Path:
    path = tmp_path / "_commands.json"
    path.write_text(json.dumps({
        "streams": {"fits": {"format": "fits", "mime": "application/fits", "extension": "fits",
                             "title": "FITS table"}},
        "params": {"format.type": {"type": "enum", "enum": ["das", "csv", "fits", "json"]}},
        "commands": {"das2_fits": {"role": "formatter", "template": "das2_fits",
                                   "input": "das2/2.2/binary", "output": "fits",
                                   "requires": ["no_such_module_for_fits"]}},
    }))
    return path


def test_a_command_whose_module_is_missing_has_no_edge(tmp_path: Path) -> None:
    table = builtin_commands().merged(load_command_table(site_table(tmp_path)))
    planner = Planner(table)
    assert "fits" not in {o.type for o in planner.output_formats(make_source())}
    with pytest.raises(NoPipelineError, match="cannot produce 'fits'"):
        planner.plan(make_source(), {**QUERY, "format.type": "fits"})
    messages = [off_message(output) for output in unavailable_outputs(table)]
    assert messages == ["format fits is off: the Python module no_such_module_for_fits is not "
                        "installed (pip install no_such_module_for_fits)"]


def test_install_hints_come_from_the_extras() -> None:
    assert install_hint("pyarrow") == "pip install 'dasflex[parquet]'"
    assert install_hint("netCDF4") == "pip install 'dasflex[netcdf]'"
    assert module_available("pyarrow") and module_available("netCDF4")
    assert unavailable_outputs(builtin_commands()) == []


def test_check_says_which_formats_are_off() -> None:
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from dasflex_core.cli import main\n"
            f"sys.exit(main(['check', '--site', {str(EXAMPLE_SITE)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "format parquet is off: the Python module pyarrow is not installed "
        "(pip install 'dasflex[parquet]')"]


def test_the_form_menus_offer_every_output() -> None:
    menus = dict(format_choices(default_planner().output_formats(make_source())))
    types = {value for value, _ in menus["format.type"]}
    assert NEW_TYPES | {"das", "csv", "png", "cdf", "hapi", ""} == types
    assert ("plain", "plain (csv)") in menus["format.style"]
    assert ("binary", "binary (das, votable)") in menus["format.serial"]


def test_discovery_does_not_import_the_format_libraries() -> None:
    code = ("import sys\n"
            "from dasflex_core.planner import default_planner\n"
            "import dasflex_core.sources.catalog, dasflex_core.protocols.html\n"
            "from dasflex_core.model import CommandDef, CommandRole, SourceDef, "
            "DAS2_BINARY\n"
            "reader = CommandDef('r', CommandRole.READER, ('rdr',), DAS2_BINARY)\n"
            "assert default_planner().output_formats(SourceDef('A/B', 'B', '/x', commands=(reader,)))\n"
            "print(' '.join(m for m in ('pyarrow', 'netCDF4', 'h5netcdf', 'numpy', 'lxml', 'networkx')"
            " if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.split() == []
