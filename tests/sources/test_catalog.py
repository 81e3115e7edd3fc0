"""Catalog outputs for the example site: lists, d2t headers and JSON nodes."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from lxml import etree

from dasflex_core.commands.outputs import OutputLister
from dasflex_core.model import Site
from dasflex_core.planner import planner_for_site
from dasflex_core.sources.catalog import (
    WEBSOCKET_SUBPROTOCOL,
    Urls,
    build_files,
    das2_list,
    dsdf_stream,
)
from dasflex_core.sources.loader import load_site
from tests.support.paths import PROJECT_DIR

EXAMPLE_SITE = PROJECT_DIR / "examples" / "site"
BASE = "https://data.example.org/das"
#: The bundled example sources, as catalog names (sorted).
EXAMPLE_NAMES = ("auth", "daily", "das3native", "params", "random", "realtime", "spectra", "waveform")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(EXAMPLE_SITE)


def outputs_of(site: Site) -> OutputLister:
    """Each source's outputs, as the server lists them (its planner over the site's table)."""
    return planner_for_site(site).output_formats


@pytest.fixture(scope="module")
def files(site) -> dict[str, str | bytes]:
    return build_files(site, BASE + "/", outputs_of(site))


def node(files, name: str) -> dict:
    return json.loads(files[name])


def text(content: str | bytes) -> str:
    return content.decode("utf-8") if isinstance(content, bytes) else content


def test_expected_files(files):
    expected = {"das2list.txt", "root.json", "catalog.json", "nodes.csv", "source/examples.json",
                "source/examples/waveform/flexRT.json", "source/examples/realtime/flexRT.json"}
    for source in EXAMPLE_NAMES:
        expected |= {f"source/examples/{source}.json", f"source/examples/{source}/flex.json",
                     f"source/examples/{source}/das2py.json", f"source/examples/{source}/das2.d2t"}
    assert set(files) == expected
    for name, content in files.items():
        if name.endswith(".json"):
            assert isinstance(json.loads(content), dict), name


def test_nothing_internal_is_leaked(files, site):
    forbidden = [str(EXAMPLE_SITE), str(PROJECT_DIR), sys.executable, "_reader.py", "readers/",
                 "#[", "das2_bin_avgsec", "das2_psd", "template", ".dsdf", "Waveform.json"]
    for name, content in files.items():
        body = text(content)
        for needle in forbidden:
            assert needle not in body, f"{needle!r} leaked into {name}"
    for source in site:
        assert "reader" not in dict(source.das2_properties)


def test_das2_list(files, site):
    lines = text(files["das2list.txt"]).splitlines()
    assert lines[0] == "Examples/|Example data sources bundled with dasflex"
    assert [line.split("|")[0] for line in lines[1:]] == [s.id for s in site]
    assert all(line.count("|") == 1 for line in lines)


def test_discovery_lists_only_sources_with_examples(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "With.dsdf").write_text(
        "reader = 'r'\nexampleRange_00 = '2001-01-01 to 2001-01-02'\n", encoding="utf-8")
    (tmp_path / "A" / "Without.dsdf").write_text("reader = 'r'\n", encoding="utf-8")
    (tmp_path / "A" / "Hidden.dsdf").write_text("reader = 'r'\nhidden = 1\n", encoding="utf-8")
    small = load_site(tmp_path)
    assert das2_list(small) == "A/|\nA/With|A/With\nA/Without|A/Without\n"
    assert das2_list(small, discovery=True) == "A/|\nA/With|A/With\n"


def test_d2t_header_packet(files, site):
    for source in site:
        packet = files[f"source/{source.id.lower()}/das2.d2t"]
        assert packet == dsdf_stream(source)
        assert packet[:4] == b"[00]"
        length = int(packet[4:10])
        assert length == len(packet) - 10
        root = etree.fromstring(packet[10:])
        assert root.tag == "stream" and root.get("version") == "2.2"
        properties = root.find("properties").attrib
        assert properties["description"] == source.title
        assert "reader" not in properties and "readAccess" not in properties


def test_d2t_keeps_list_keys_and_escapes(files):
    properties = etree.fromstring(files["source/examples/spectra/das2.d2t"][10:]).find("properties").attrib
    assert properties["exampleRange_00"].startswith("1979-03-01T12:26:11 to")
    assert properties["techContact"] == "dasflex developers <dasflex@example.org>"
    assert properties["das2Stream"] == "1"
    assert "cacheLevel_00" not in properties and "hapi" not in properties


def test_flex_node(files):
    flex = node(files, "source/examples/params/flex.json")
    assert (flex["type"], flex["version"], flex["label"]) == ("HttpStreamSrc", "0.7", "Params")
    protocol = flex["protocol"]
    assert protocol["baseUrls"] == [f"{BASE}/source/examples/params/flex"]
    assert protocol["authorization"] == {"required": False}
    params = protocol["httpParams"]
    assert params["read.time.min"] == {"required": True, "type": "isotime", "label": "Start",
                                       "title": "Minimum time value to stream", "units": "UTC"}
    assert params["bin.time.max"]["type"] == "real"
    options = params["read.opts"]
    assert options["type"] == "FlagSet" and options["flagSep"] == " "
    assert options["flags"]["param_07"] == {"value": "BxEx", "title": "Cross-spectrum of Bx and Ex"}
    interface = flex["interface"]
    time = interface["coords"]["time"]
    assert time["props"]["min"]["set"] == {"param": "read.time.min"}
    assert time["order"] == ["min", "max", "res"]
    assert time["validRange"] == ["2008-06-29", "2008-06-30"]
    flag = interface["options"]["props"]["param_11"]
    assert flag["set"] == {"param": "read.opts", "flag": "param_11", "value": True}
    assert flag["value"] is False
    second = interface["examples"][1]
    assert second["label"] == "One hour, Bx-Ex complex"
    assert second["settings"] == {"coords/time/props/min": "2008-06-29T17:00",
                                  "coords/time/props/max": "2008-06-29T18:00",
                                  "coords/time/props/res": "1.8",
                                  "options/props/param_07": True, "options/props/param_11": True}
    formats = interface["formats"]
    assert set(formats) == {"das", "csv", "png", "cdf", "hapi", "parquet", "netcdf", "votable",
                            "json"}
    assert formats["das"]["props"]["version"]["set"]["enum"][1] == {"value": "das3", "pval": "3"}
    assert formats["csv"]["props"]["style"]["set"] == {
        "param": "format.style",
        "enum": [{"value": "default", "pval": ""}, {"value": "plain", "pval": "plain"}]}
    assert formats["parquet"]["props"]["enabled"]["set"]["pval"] == "parquet"
    assert formats["votable"]["props"]["serial"]["set"]["param"] == "format.serial"
    assert formats["netcdf"]["mimeTypes"] == ["application/x-netcdf"]


def test_protected_source_advertises_basic_auth(files):
    protocol = node(files, "source/examples/auth/flex.json")["protocol"]
    assert protocol["authorization"]["required"] is True
    assert "testgroup" in protocol["authorization"]["description"]
    assert protocol["authentications"] == [{"method": "HTTP/Basic", "realm": "dasflex example data"}]
    legacy = node(files, "source/examples/auth/das2py.json")["protocol"]
    assert legacy["authentications"] == protocol["authentications"]


def test_das2py_snake_case_node(files):
    legacy = node(files, "source/examples/params/das2py.json")
    assert legacy["type"] == "HttpStreamSrc" and legacy["name"] == "Params"
    protocol = legacy["protocol"]
    assert protocol["base_urls"] == [f"{BASE}/source/examples/params/das2"]
    params = protocol["http_params"]
    assert set(params) == {"start_time", "end_time", "resolution", "params"}
    assert params["start_time"]["required"] is True and params["start_time"]["type"] == "isotime"
    assert params["params"]["type"] == "flag_set" and params["params"]["flag_sep"] == " "
    assert params["params"]["flags"]["param_00"]["value"] == "BxBx"
    examples = protocol["examples"]
    assert sorted(examples) == ["example_00", "example_01", "example_02"]
    assert examples["example_01"]["http_params"] == {
        "start_time": "2008-06-29T17:00", "end_time": "2008-06-29T18:00", "resolution": "1.8",
        "params": "BxEx complex"}
    time = legacy["interface"]["coordinates"]["time"]
    assert set(time) == {"minimum", "maximum", "resolution"}
    assert time["minimum"]["set"] == {"param": "start_time"}
    assert time["minimum"]["value"] == "2008-06-29"
    assert time["resolution"]["value"] == 0.0
    option = legacy["interface"]["options"]["param_11"]
    assert option["value"] is False
    assert option["set"] == {"param": "params", "flag": "param_11", "value": True}
    for aspect in time.values():
        assert "value" in aspect and "set" in aspect


def test_websocket_node_only_for_realtime_sources(files, site):
    realtime = [s.id for s in site if s.realtime]
    assert realtime == ["Examples/Realtime", "Examples/Waveform"]
    socket = node(files, "source/examples/waveform/flexRT.json")
    assert (socket["type"], socket["version"]) == ("WebSockSrc", "0.1")
    assert socket["protocol"]["subprotocols"] == [WEBSOCKET_SUBPROTOCOL]
    assert socket["protocol"]["baseUrls"] == ["wss://data.example.org/das/source/examples/waveform/flexRT"]
    assert "flexRT" in node(files, "source/examples/waveform.json")["catalog"]
    assert "flexRT" not in node(files, "source/examples/random.json")["catalog"]


def test_websocket_url_can_be_given():
    urls = Urls.from_base("http://h/das", "ws://other:9000/ws/")
    assert urls.realtime("A/B") == "ws://other:9000/ws/source/a/b/flexRT"
    assert Urls.from_base("http://h/das/").websocket == "ws://h/das"


def test_source_set_node(files):
    sources = node(files, "source/examples/spectra.json")
    assert (sources["type"], sources["label"]) == ("SourceSet", "Spectra")
    catalog = sources["catalog"]
    assert catalog["flex"]["urls"] == [f"{BASE}/source/examples/spectra/flex.json"]
    assert catalog["das2py"]["urls"] == [f"{BASE}/source/examples/spectra/das2py.json"]
    assert catalog["das2"]["type"] == "Das2DSDF"
    assert "application/vnd.das2.das2stream" in catalog["flex"]["provides"]
    assert all(entry["name"] and entry["type"] for entry in catalog.values())
    assert sources["coords"]["frequency"] == {"title": "Frequency", "units": "Hz"}


def test_catalog_nodes_and_root(files):
    root = node(files, "root.json")
    assert (root["type"], root["title"], root["separator"]) == ("Catalog", "Local Root Catalog", "/")
    assert root["catalog"]["examples"]["urls"] == [f"{BASE}/source/examples.json"]
    examples = node(files, "source/examples.json")
    assert examples["title"] == "Example data sources bundled with dasflex"
    assert sorted(examples["catalog"]) == list(EXAMPLE_NAMES)
    random = examples["catalog"]["random"]
    assert (random["type"], random["name"]) == ("SourceSet", "Random")
    assert random["urls"] == [f"{BASE}/source/examples/random.json"]


def test_combined_catalog_is_expanded(files):
    combined = node(files, "catalog.json")
    assert combined["title"] == "Combined dasflex Server Catalog"
    examples = combined["catalog"]["examples"]
    assert examples["type"] == "Catalog" and examples["urls"]
    waveform = examples["catalog"]["waveform"]
    assert waveform["type"] == "SourceSet" and "flexRT" in waveform["catalog"]


def test_nodes_csv(files):
    rows = list(csv.reader(io.StringIO(text(files["nodes.csv"]))))
    assert rows[0] == ["LocalID", "Type", "Title", "URL", "Item-MIME", "Provides-MIME"]
    assert rows[1][:4] == ["", "Catalog", "Local Root Catalog", f"{BASE}/root.json"]
    ids = [row[0] for row in rows[1:]]
    assert "Examples" in ids and "Examples/Random" in ids and "Examples/Random/flex" in ids
    flex = next(row for row in rows if row[0] == "Examples/Random/flex")
    assert flex[1] == "HttpStreamSrc" and "text/csv" in flex[5:]
    assert all(len(row) >= 5 for row in rows)


def test_json_interface_sections_replace_generated_ones(tmp_path):
    definition = {
        "version": "1", "title": "Custom",
        "commands": {"reader": {"role": "reader", "template": "r", "output": "das2/2.2/binary"}},
        "interface": {"formats": {"das": {"label": "Only das2", "props": {}}}},
    }
    (tmp_path / "Custom.json").write_text(json.dumps(definition), encoding="utf-8")
    custom = load_site(tmp_path)
    files = build_files(custom, BASE, outputs_of(custom))
    interface = node(files, "source/custom/flex.json")["interface"]
    assert interface["formats"] == {"das": {"label": "Only das2", "props": {}}}
    assert interface["coords"]["time"]["props"]["min"]["set"] == {"param": "read.time.min"}
