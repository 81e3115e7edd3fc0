"""The command graph, plan() on the example site, command tables, ``dasflex plan``."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import networkx as nx
import pytest

from dasflex_core.cli import main as cli_main
from dasflex_core.commands import (
    builtin_commands,
    parse_command_table,
    schema_path,
    validate_document,
)
from dasflex_core.errors import DefinitionError, NoPipelineError, NotFoundError, QueryError
from dasflex_core.model import (
    DAS2_BINARY,
    DAS2_TEXT,
    CommandDef,
    CommandRole,
    CommandTable,
    Condition,
    Param,
    ParamType,
    Site,
    SourceDef,
    StreamType,
)
from dasflex_core.planner import START, Plan, Planner, build_graph, plan
from dasflex_core.sources.loader import load_command_table, load_site
from tests.support.paths import PROJECT_DIR

SITE_DIR = PROJECT_DIR / "examples" / "site"
READERS = PROJECT_DIR / "examples" / "readers"


def reader(name: str) -> list[str]:
    return [sys.executable, str(READERS / f"{name}_reader.py")]


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE_DIR)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner()


T0, T1 = "2017-01-01T00:00:00", "2017-01-02T00:00:00"
W0, W1 = "1979-03-01T12:00:00", "1979-03-01T13:00:00"
P0, P1 = "2008-06-29T00:00:00", "2008-06-30T00:00:00"

# (source, convention, query, expected stages (reader argv after the program), mime)
PLAN_CASES = [
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02"},
     [reader("random") + [T0, T1]], "application/vnd.das2.das2stream"),
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                 "read.opts": "fast", "bin.time.max": "60"},
     [reader("random") + [T0, T1, "fast"]], "application/vnd.das2.das2stream"),
    ("Examples/Random", "das2", {"start_time": "2017-01-01", "end_time": "2017-01-02",
                                 "ascii": "1", "server": "dataset", "dataset": "Examples/Random"},
     [reader("random") + [T0, T1], ["das2_ascii", "-c"]], "text/vnd.das2.das2stream"),
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                 "format.type": "csv", "format.delim": "tab",
                                 "format.secfrac": "3", "format.headers": "false"},
     [reader("random") + [T0, T1], ["das3_csv", "-n", "-s", "3", "-d", "\t"]], "text/csv"),
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                 "format.type": "das", "format.version": "3"},
     [reader("random") + [T0, T1], ["das2_to_das3"]], "application/vnd.das.stream"),
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                 "format.type": "das", "format.version": "3",
                                 "format.serial": "text", "format.sigdigit": "4"},
     [reader("random") + [T0, T1], ["das3_text", "-3", "-r", "4"]], "text/vnd.das.stream"),
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                 "format.type": "png", "format.width": "640"},
     [reader("random") + [T0, T1], ["das2_png", "-w", "640"]], "image/png"),
    ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                 "format.type": "cdf"},
     [reader("random") + [T0, T1], ["das2_cdf"]], "application/x-cdf"),
    ("Examples/Spectra", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                  "bin.time.max": "43.2"},
     [reader("spectra") + [T0, T1], ["das2_bin_avgsec", "-b", T0, "43.2"]],
     "application/vnd.das2.das2stream"),
    ("Examples/Spectra", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                  "bin.time.max": "0"},
     [reader("spectra") + [T0, T1]], "application/vnd.das2.das2stream"),
    ("Examples/Spectra", "das2", {"start_time": "2017-01-01", "end_time": "2017-01-02",
                                  "resolution": "60", "params": "smooth"},
     [reader("spectra") + [T0, T1, "smooth"], ["das2_bin_avgsec", "-b", T0, "60"]],
     "application/vnd.das2.das2stream"),
    ("Examples/Waveform", "flex", {"read.time.min": W0, "read.time.max": W1,
                                   "dft.length": "1024", "bin.time.max": "10",
                                   "format.serial": "text"},
     [reader("waveform") + [W0, W1], ["das2_psd", "1024", "2"],
      ["das2_bin_avgsec", "-b", W0, "10"], ["das2_ascii", "-c"]], "text/vnd.das2.das2stream"),
    ("Examples/Waveform", "flex", {"read.time.min": W0, "read.time.max": W1,
                                   "dft.length": "512", "dft.slide": "4"},
     [reader("waveform") + [W0, W1], ["das2_psd", "512", "4"]],
     "application/vnd.das2.das2stream"),
    ("Examples/Waveform", "das2", {"start_time": W0, "end_time": W1},
     [reader("waveform") + [W0, W1]], "application/vnd.das2.das2stream"),
    ("Examples/Params", "das2", {"start_time": "2008-06-29", "end_time": "2008-06-30",
                                 "params": "BzEz  complex", "resolution": "43.2"},
     [reader("params") + [P0, P1, "BzEz complex"], ["das2_bin_avgsec", "-b", P0, "43.2"]],
     "application/vnd.das2.das2stream"),
    ("Examples/Params", "hapi", {"dataset": "Examples/Params", "start": "2008-06-29",
                                 "stop": "2008-06-30", "parameters": "time,BzEz"},
     [reader("params") + [P0, P1], ["das2_hapi", "-b", P0, "-e", P1, "time,BzEz"]],
     "text/csv"),
    ("Examples/Params", "hapi", {"id": "Examples/Params", "time.min": "2008-06-29",
                                 "time.max": "2008-06-30", "format": "binary"},
     [reader("params") + [P0, P1], ["das2_hapi", "-f", "binary", "-b", P0, "-e", P1]],
     "application/octet-stream"),
    ("Examples/Auth", "flex", {"read.time.min": "2020-01-01", "read.time.max": "2020-01-03",
                               "bin.time.max": "86.4"},
     [reader("auth") + ["2020-01-01T00:00:00", "2020-01-03T00:00:00"],
      ["das2_bin_avgsec", "-b", "2020-01-01T00:00:00", "86.4"]],
     "application/vnd.das2.das2stream"),
]


@pytest.mark.parametrize(("source_id", "convention", "query", "stages", "mime"), PLAN_CASES)
def test_plan_examples(site: Site, planner: Planner, source_id: str, convention: str,
                       query: dict[str, str], stages: list[list[str]], mime: str) -> None:
    result = plan(site, query, convention, source_id=source_id, planner=planner)
    assert [list(stage) for stage in result.stages] == stages
    assert result.mime == mime
    assert result.source_id == source_id
    assert result.cwd == str(SITE_DIR / "Examples")


def test_every_example_of_every_source_plans(site: Site, planner: Planner) -> None:
    planned = 0
    for source in site:
        for example in source.examples:
            result = planner.plan(source, dict(example.settings))
            assert result.stages[0][:2] == tuple(reader(source.id.split("/")[-1].lower()))
            planned += 1
    assert planned >= 10


@pytest.mark.parametrize(
    ("query", "filename", "disposition"),
    [
        ({"read.time.min": "2017-01-01", "read.time.max": "2017-01-02"},
         "random_2017-01-01.d2s", "attachment"),
        ({"read.time.min": "2017-01-01T06:30", "read.time.max": "2017-01-01T07:00:10",
          "format.serial": "text"},
         "random_2017-01-01T06-30_2017-01-01T07-00-10.d2t", "inline"),
        ({"read.time.min": "2017-01-01", "read.time.max": "2017-01-03", "format.type": "csv",
          "read.opts": "-b 5 -a"},
         "random_2017-01-01_2017-01-03_-a_-b-5.csv", "attachment"),
    ],
)
def test_filename_and_disposition(site: Site, planner: Planner, query: dict[str, str],
                                  filename: str, disposition: str) -> None:
    result = plan(site, query, source_id="Examples/Random", planner=planner)
    assert result.filename == filename
    assert result.disposition == f'{disposition}; filename="{filename}"'


def test_filename_has_resolution_and_psd(site: Site, planner: Planner) -> None:
    result = plan(site, {"read.time.min": W0, "read.time.max": W1, "dft.length": "1024",
                         "bin.time.max": "300"}, source_id="Examples/Waveform", planner=planner)
    assert result.filename == "waveform_1979-03-01T12-00_1979-03-01T13-00_psd-1024_bin-5min.d2s"


def test_error_formats(site: Site, planner: Planner) -> None:
    base = {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02"}
    formats = {
        "das2": ({}, "das2"), "das3": ({"format.version": "3"}, "das3"),
        "csv": ({"format.type": "csv"}, None), "png": ({"format.type": "png"}, None),
    }
    for extra, expected in formats.values():
        result = plan(site, {**base, **extra}, source_id="Examples/Random", planner=planner)
        assert result.error_format == expected


@pytest.mark.parametrize(
    ("source_id", "convention", "query", "error", "message"),
    [
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01"}, QueryError,
         "Missing query parameter 'read.time.max'"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-02", "read.time.max": "2017-01-01"},
         QueryError, "time range is empty"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-01"},
         QueryError, "time range is empty"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                     "colour": "red"}, QueryError,
         "Unknown query parameter 'colour'"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                     "_SERVER_": "x"}, QueryError, "Unknown query parameter"),
        ("Examples/Random", "das2", {"start_time": "2017-01-01", "start": "2017-01-01",
                                     "end_time": "2017-01-02"}, QueryError, "more than once"),
        ("Examples/Random", "soap", {}, QueryError, "Unknown request convention 'soap'"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                     "format.type": "qstream"}, NoPipelineError,
         "cannot produce 'qstream'"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                     "format.type": "fits"}, QueryError, "must be one of"),
        ("Examples/Random", "flex", {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                     "format.secfrac": "12"}, QueryError, "at most 9"),
        ("Examples/Nothing", "flex", {}, NotFoundError, "No data source 'Examples/Nothing'"),
        ("Examples/Params", "flex", {"read.time.min": "2008-06-29", "read.time.max": "2008-06-30",
                                     "read.opts": "BzEz XxXx"}, QueryError, "unknown flag 'XxXx'"),
    ],
)
def test_plan_errors(site: Site, planner: Planner, source_id: str, convention: str,
                     query: dict[str, str], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        plan(site, query, convention, source_id=source_id, planner=planner)


def test_no_pipeline_message_lists_what_the_source_can_produce(site: Site) -> None:
    with pytest.raises(NoPipelineError) as caught:
        plan(site, {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                    "format.type": "qstream"}, source_id="Examples/Random")
    assert "csv" in str(caught.value) and "das2/2.2/binary" in str(caught.value)


# --------------------------------------------------------------------------
# the graph


def make_source(*commands: CommandDef, reducible: bool = True,
                params: tuple[Param, ...] = ()) -> SourceDef:
    read = CommandDef("reader", CommandRole.READER, ("rdr", "#[read.time.min]",
                                                     "#[read.time.max]"), DAS2_BINARY)
    return SourceDef("Test/Source", "Test", "/nowhere/Source.dsdf", commands=(read, *commands),
                     reducible=reducible, params=params)


def test_build_graph_nodes_and_edges() -> None:
    graph = build_graph(make_source(), builtin_commands().commands)
    assert isinstance(graph, nx.DiGraph)
    assert list(graph.successors(START)) == [DAS2_BINARY]
    assert graph.has_edge(DAS2_BINARY, DAS2_TEXT, "das2_ascii")
    assert graph.has_edge(DAS2_BINARY, DAS2_BINARY, "das2_bin_avgsec")
    assert graph.has_edge(DAS2_BINARY, StreamType("csv"), "das3_csv")
    assert graph[DAS2_BINARY][DAS2_TEXT]["das2_ascii"]["cost"] == 1.0


def test_not_reducible_source_gets_no_reducer() -> None:
    graph = build_graph(make_source(reducible=False), builtin_commands().commands)
    names = {key for _, _, key in graph.edges(keys=True)}
    assert "das2_bin_avgsec" not in names and "das2_ascii" in names


def test_source_transform_replaces_builtin_of_that_role() -> None:
    own = CommandDef("my_psd", CommandRole.TRANSFORM, ("mypsd", "#[dft.length]"), DAS2_BINARY,
                     input=DAS2_BINARY, conditions=(Condition("dft.length"),))
    graph = build_graph(make_source(own), builtin_commands().commands)
    names = {key for _, _, key in graph.edges(keys=True)}
    assert "my_psd" in names and "das2_psd" not in names
    result = Planner().plan(graph_source := make_source(own),
                            {"read.time.min": T0, "read.time.max": T1, "dft.length": "64"})
    assert result.stages[1] == ("mypsd", "64")
    assert graph_source.id == result.source_id


def test_cheapest_path_wins_and_inactive_commands_are_skipped() -> None:
    cheap = CommandDef("fast_ascii", CommandRole.FORMATTER, ("fast_ascii",), DAS2_TEXT,
                       input=DAS2_BINARY, cost=0.5, conditions=(Condition("format.secfrac", "3"),))
    source = make_source(cheap)
    query = {"read.time.min": T0, "read.time.max": T1, "format.serial": "text"}
    planner = Planner()
    assert planner.plan(source, query).stages[1] == ("das2_ascii", "-c")
    chosen = planner.plan(source, {**query, "format.secfrac": "3"})
    assert chosen.stages[1] == ("fast_ascii",)
    assert chosen.commands == ("reader", "fast_ascii")


def test_required_transform_without_a_path_is_an_error() -> None:
    text_reader = CommandDef("reader", CommandRole.READER, ("rdr",), StreamType("das3", "3.0",
                                                                               "binary"))
    source = SourceDef("Test/D3", "D3", "/x.json", commands=(text_reader,))
    with pytest.raises(NoPipelineError, match="Test/D3"):
        Planner().plan(source, {"bin.time.max": "60"})


def test_a_reader_whose_activation_fails_leaves_no_pipeline() -> None:
    gated = CommandDef("reader", CommandRole.READER, ("rdr",), DAS2_BINARY,
                       conditions=(Condition("read.opts", "x"),))
    source = SourceDef("Test/Gated", "G", "/x.json", commands=(gated,))
    assert Planner().plan(source, {"read.opts": "x"}).stages == (("rdr",),)
    with pytest.raises(NoPipelineError, match="no reader that runs"):
        Planner().plan(source, {"read.opts": "y"})


def test_undeclared_template_keys_are_strings() -> None:
    tagged = CommandDef("reader", CommandRole.READER, ("rdr", "#[my.key#@#]"), DAS2_BINARY)
    source = SourceDef("Test/K", "K", "/x.json", commands=(tagged,))
    assert Planner().plan(source, {"my.key": "abc"}).stages == (("rdr", "abc"),)
    with pytest.raises(QueryError, match="'my.key' contains characters"):
        Planner().plan(source, {"my.key": "a;b"})


def test_predefined_keys_are_rendered() -> None:
    tagged = CommandDef("reader", CommandRole.READER,
                        ("rdr", "#[_SERVER_]", "#[_LOCAL_ID_]", "#[_FILENAME_]"), DAS2_BINARY)
    source = SourceDef("Test/Pre", "P", "/x.json", commands=(tagged,))
    result = Planner(server_url="https://example.org/das").plan(source, {})
    assert result.stages == (("rdr", "https://example.org/das", "Test/Pre", "pre.d2s"),)


def test_planner_caches_graphs_per_source_and_notices_changes() -> None:
    planner = Planner()
    source = make_source()
    query = {"read.time.min": T0, "read.time.max": T1}
    first = planner.plan(source, query)
    assert planner.plan(source, query) == first
    changed = replace(source, commands=(replace(source.commands[0], template=("other",)),))
    assert planner.plan(changed, query).stages == (("other",),)


def test_plan_json_summary(site: Site) -> None:
    result = plan(site, {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02"},
                  source_id="Examples/Random")
    assert isinstance(result, Plan)
    assert set(result.to_json()) == {"stages", "mime", "disposition", "filename"}


# --------------------------------------------------------------------------
# command tables


def test_builtin_table_matches_the_schema() -> None:
    from importlib import resources

    document = json.loads(resources.files("dasflex_core.commands").joinpath("builtin.json")
                          .read_text("utf-8"))
    validate_document(document, "builtin.json")
    assert schema_path().is_file()


def test_builtin_table_names_the_tools() -> None:
    names = {c.name for c in builtin_commands().commands}
    assert {"das2_bin_avgsec", "das2_psd", "das2_ascii", "das3_csv", "das2_to_das3", "das2_hapi",
            "das2_png", "das2_cdf"} <= names


def write_table(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "_commands.json"
    path.write_text(json.dumps(document))
    return path


def test_site_table_overrides_and_adds_commands(tmp_path: Path) -> None:
    path = write_table(tmp_path, {
        "streams": {"votable": {"format": "votable", "mime": "application/x-votable+xml",
                                "extension": "xml"}},
        "params": {"format.type": {"type": "enum", "enum": ["das", "csv", "votable"]}},
        "commands": {
            "das2_ascii": {"role": "formatter", "template": "site_ascii #[format.secfrac#-p @#]",
                           "input": "das2/2.2/binary", "output": "das2/2.2/text"},
            "das2_votable": {"role": "formatter", "template": ["das2_votable"],
                             "input": "das2/2.2/binary", "output": "votable", "cost": 2},
        },
    })
    table = builtin_commands().merged(load_command_table(path))
    planner = Planner(table)
    source = make_source()
    query = {"read.time.min": T0, "read.time.max": T1}
    text = planner.plan(source, {**query, "format.serial": "text", "format.secfrac": "2"})
    assert text.stages[1] == ("site_ascii", "-p", "2")
    votable = planner.plan(source, {**query, "format.type": "votable"})
    assert votable.stages[1] == ("das2_votable",)
    assert votable.mime == "application/x-votable+xml"
    assert votable.filename.endswith(".xml")
    assert isinstance(table, CommandTable)


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"commands": {"x": {"role": "painter", "template": "x", "output": "csv"}}},
         "commands/x/role"),
        ({"commands": {"x": {"role": "formatter", "output": "csv"}}}, "commands/x"),
        ({"commands": {"x": {"role": "formatter", "template": "x", "output": "CSV!"}}},
         "commands/x/output"),
        ({"params": {"k": {"type": "colour"}}}, "params/k/type"),
        ({"surprise": 1}, None),
    ],
)
def test_bad_site_tables(tmp_path: Path, document: object, where: str | None) -> None:
    path = write_table(tmp_path, document)
    with pytest.raises(DefinitionError) as caught:
        load_command_table(path)
    assert caught.value.path == str(path)
    assert caught.value.where == where


def test_unreadable_or_invalid_json_tables(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read"):
        load_command_table(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(DefinitionError, match="invalid JSON"):
        load_command_table(broken)


def test_bad_template_in_table_fails_when_planning() -> None:
    table = parse_command_table({"commands": {"bad": {
        "role": "formatter", "template": "bad #[x", "input": "das2/2.2/binary",
        "output": "csv"}}}, "site.json")
    planner = Planner(builtin_commands().merged(table))
    with pytest.raises(DefinitionError, match="unterminated") as caught:
        planner.prepare(make_source())
    assert caught.value.path == "Test/Source" and caught.value.where == "command bad"
    with pytest.raises(DefinitionError, match="unterminated"):
        planner.plan(make_source(), {"read.time.min": T0, "read.time.max": T1})


def test_reader_cannot_output_same_type() -> None:
    with pytest.raises(DefinitionError, match="reader cannot output"):
        parse_command_table({"commands": {"r": {"role": "reader", "template": "r",
                                                "output": "*"}}}, "site.json")


# --------------------------------------------------------------------------
# dasflex plan


def test_cli_plan_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["plan", "Examples/Random", "read.time.min=2017-01-01",
                       "read.time.max=2017-01-02", "format.type=csv"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert out["stages"] == [reader("random") + [T0, T1], ["das3_csv"]]
    assert out["mime"] == "text/csv"
    assert out["filename"] == "random_2017-01-01.csv"
    assert out["disposition"] == 'attachment; filename="random_2017-01-01.csv"'


def test_cli_plan_with_site_table_and_convention(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    site_dir = tmp_path / "site"
    (site_dir / "A").mkdir(parents=True)
    (site_dir / "A" / "B.dsdf").write_text(
        "description = 'b'\nreader = 'rdr'\ndas2Stream = 1\n")
    write_table(site_dir, {"commands": {"das2_ascii": {
        "role": "formatter", "template": "my_ascii", "input": "das2/2.2/binary",
        "output": "das2/2.2/text"}}})
    status = cli_main(["plan", "--site", str(site_dir), "--convention", "das2", "A/B",
                       "start_time=2017-01-01", "end_time=2017-01-02", "ascii=true"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["stages"] == [["rdr", T0, T1], ["my_ascii"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "Examples/Random", "read.time.min"], "expected KEY=VALUE"),
        (["plan", "Examples/Random", "a=1", "a=2"], "given twice"),
        (["plan", "Examples/Nope"], "No data source"),
        (["plan", "Examples/Random", "read.time.min=x", "read.time.max=y"], "not a valid time"),
    ],
)
def test_cli_plan_errors(args: list[str], message: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(args) == 1
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.count("\n") == 1 and not captured.out


def test_param_type_view() -> None:
    from dasflex_core.planner.query import _ParamView

    view = _ParamView(Param("n", ParamType.INTEGER, range=("16", "")))
    assert (view.type, view.minimum, view.maximum) == ("integer", 16.0, None)
