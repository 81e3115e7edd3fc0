"""dasflex's JSON source definitions: schema validation and conversion to the model."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from dasflex_core.commands import builtin_param
from dasflex_core.errors import DefinitionError
from dasflex_core.model import DAS2_BINARY, DAS3_BINARY, CommandRole, ParamType
from dasflex_core.planner import plan, translate
from dasflex_core.sources.jsondef import SCHEMA_PATH, load_json_definition

MINIMAL = {
    "version": "1",
    "title": "Minimal source",
    "commands": {
        "reader": {"role": "reader", "template": "./rdr.py --fast", "output": "das2/2.2/binary"},
    },
}


def write(tmp_path: Path, document, name: str = "Src.json") -> Path:
    path = tmp_path / name
    text = document if isinstance(document, str) else json.dumps(document)
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, document, variables=None):
    return load_json_definition(write(tmp_path, document), "Dir/Src", variables or {})


def changed(**top):
    document = copy.deepcopy(MINIMAL)
    document.update(top)
    return document


def test_schema_is_a_valid_json_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_minimal_definition(tmp_path):
    source = load(tmp_path, MINIMAL)
    assert (source.id, source.title, source.definition_format) == ("Dir/Src", "Minimal source", "json")
    reader = source.reader
    assert reader.template == (str((tmp_path / "rdr.py").resolve()), "--fast")
    assert reader.output == DAS2_BINARY and reader.input is None
    assert reader.cwd == str(tmp_path.resolve())
    assert [p.key for p in source.params] == ["read.time.min", "read.time.max", "bin.time.max", "read.opts"]
    assert source.params == (replace(builtin_param("read.time.min"), required=True),
                             replace(builtin_param("read.time.max"), required=True),
                             builtin_param("bin.time.max"), builtin_param("read.opts"))
    assert source.reducible
    assert all(c.role is not CommandRole.REDUCER for c in source.commands)
    reduced = plan(source, {"read.time.min": "2001-01-01", "read.time.max": "2001-01-02",
                            "bin.time.max": "60"})
    assert reduced.stages[1] == ("das2_bin_avgsec", "-b", "2001-01-01T00:00:00", "60")


def test_list_template_and_variables(tmp_path):
    document = changed(commands={"reader": {
        "role": "reader", "output": "das3/3.0/binary",
        "template": ["$(PYTHON)", "$(THIS_DIR)/x y.py", "$(LEVEL,2)", "#[read.time.min]"]}})
    source = load(tmp_path, document, {"PYTHON": "/usr/bin/python3"})
    assert source.reader.template == ("/usr/bin/python3", f"{tmp_path.resolve()}/x y.py", "2",
                                      "#[read.time.min]")
    assert source.output == DAS3_BINARY
    assert not source.reducible
    assert all(c.role is not CommandRole.REDUCER for c in source.commands)


def test_full_definition(tmp_path):
    document = changed(
        summary="Longer text",
        contacts=[{"name": "Ann", "email": "ann@x.org", "role": "scientific"}],
        validRange=["2001-01-01", "now"],
        params={
            "read.time.min": {"type": "isotime", "required": True},
            "read.time.max": {"type": "isotime", "required": True},
            "read.opts": {"type": "FlagSet", "flagSep": ",",
                          "flags": {"hf": {"value": "--hf", "title": "High band"},
                                    "lvl": {"value": "--level", "type": "integer", "default": "2"}}},
            "band": {"type": "enum", "enum": [{"value": "a", "label": "A"}, {"value": "b"}],
                     "default": "a", "pattern": "[ab]", "maxLength": 1},
        },
        conventions={"das2": {"translate": {"band": "band"}, "defaults": {"format.version": "3"}}},
        examples=[{"label": "One day", "settings": {"read.time.min": "2001-01-01",
                                                   "read.time.max": "2001-01-02"}}],
        coords=[{"name": "time", "units": "UTC"}],
        data=[{"name": "e", "title": "E field", "units": "V/m"}],
        access={"readAccess": "GROUP:team", "realm": "Team"},
        cacheLevels=["1 s | daily"],
        subSources=["hf | High band | 60 | --hf"],
        hapi=True, realTime=True, requiresInterval=False, reducible=False, hidden=True,
        das2Properties={"extraKey": "extra"},
    )
    document["commands"]["psd"] = {
        "role": "transform", "template": ["das2_psd", "#[dft.length]"], "input": "das2/2.2/binary",
        "output": "das2/2.2/binary", "activation": [{"key": "dft.length"}, {"key": "x", "value": 3, "compare": "gt"}],
        "set": [{"key": "done"}, {"key": "n", "value": 2}], "order": 5, "cost": 2.5, "streaming": False}
    source = load(tmp_path, document)
    assert source.summary == "Longer text"
    assert source.contacts[0].role == "scientific"
    assert source.valid_range == ("2001-01-01", "now")
    flags = source.param("read.opts")
    assert flags.type is ParamType.FLAGSET and flags.flag_sep == ","
    assert [(f.key, f.value, f.type) for f in flags.flags] == [("hf", "--hf", None),
                                                               ("lvl", "--level", ParamType.INTEGER)]
    band = source.param("band")
    assert [e.value for e in band.enum] == ["a", "b"] and band.max_length == 1 and band.pattern == "[ab]"
    das2 = source.convention("das2")
    assert das2.translate == {"band": "band"} and das2.defaults == {"format.version": "3"}
    assert translate({"band": "b", "start_time": "2001-01-01"}, "das2", source) == {
        "format.type": "das", "format.version": "3", "band": "b", "read.time.min": "2001-01-01"}
    psd = next(c for c in source.commands if c.name == "psd")
    assert psd.role is CommandRole.TRANSFORM and psd.input == DAS2_BINARY
    assert [(c.key, c.value, c.compare) for c in psd.conditions] == [("dft.length", None, "eq"),
                                                                     ("x", "3", "gt")]
    assert [(s.key, s.value) for s in psd.sets] == [("done", "true"), ("n", "2")]
    assert (psd.order, psd.cost, psd.streaming, psd.cwd) == (5, 2.5, False, None)
    assert source.protected and source.access.realm == "Team"
    assert source.cache_levels[0].resolution == 1.0
    assert source.sub_sources[0].key == "hf"
    assert source.hapi and source.realtime and source.hidden and not source.reducible
    properties = dict(source.das2_properties)
    assert properties["description"] == "Minimal source"
    assert properties["exampleRange_00"] == "2001-01-01 to 2001-01-02 | One day"
    assert properties["validRange"] == "2001-01-01 to now"
    assert properties["securityRealm"] == "Team"
    assert properties["sciContact"] == "Ann <ann@x.org>"
    assert properties["extraKey"] == "extra"
    assert all("rdr" not in value for value in properties.values())


@pytest.mark.parametrize("mutate, where, reason", [
    (lambda d: d.pop("title"), None, "'title' is a required property"),
    (lambda d: d.update(version="2"), "key version", "'1' was expected"),
    (lambda d: d.update(colour="red"), None, "'colour' was unexpected"),
    (lambda d: d["commands"]["reader"].update(role="boss"), "key commands.reader.role", "is not one of"),
    (lambda d: d["commands"]["reader"].pop("output"), "key commands.reader", "'output' is a required"),
    (lambda d: d["commands"]["reader"].update(output="das 2"), "key commands.reader.output", "does not match"),
    (lambda d: d.update(params={"x": {"type": "enum"}}), "key params.x", "'enum' is a required"),
    (lambda d: d.update(validRange=["2001"]), "key validRange", "is too short"),
])
def test_schema_failures_name_the_key(tmp_path, mutate, where, reason):
    document = copy.deepcopy(MINIMAL)
    mutate(document)
    with pytest.raises(DefinitionError) as caught:
        load(tmp_path, document)
    assert caught.value.where == where
    assert reason in caught.value.reason
    assert caught.value.path == str(tmp_path / "Src.json")


@pytest.mark.parametrize("mutate, where, reason", [
    (lambda d: d["commands"]["reader"].update(input="das2/2.2/binary"), "key commands.reader.input",
     "reads no input"),
    (lambda d: d["commands"].update(fmt={"role": "formatter", "template": "f", "output": "csv"}),
     "key commands.fmt", "needs an 'input'"),
    (lambda d: d["commands"]["reader"].update(role="transform", input="das2/2.2/binary"),
     "key commands", "no command has the role 'reader'"),
    (lambda d: d["commands"]["reader"].update(template="'unclosed"), "key commands.reader.template",
     "cannot split"),
    (lambda d: d["commands"]["reader"].update(template=["$(NOPE)"]), "key commands.reader.template",
     "undefined variable $(NOPE)"),
    (lambda d: d.update(access={"readAccess": "NOBODY"}), "key access.readAccess", "bad access term"),
    (lambda d: d.update(cacheLevels=["1 s | weekly"]), "key cacheLevels.0", "cache period"),
    (lambda d: d.update(params={"x": {"type": "string", "pattern": "("}}), "key params.x.pattern",
     "is not a 'regex'"),
])
def test_semantic_failures_name_the_key(tmp_path, mutate, where, reason):
    document = copy.deepcopy(MINIMAL)
    mutate(document)
    with pytest.raises(DefinitionError) as caught:
        load(tmp_path, document)
    assert caught.value.where == where
    assert reason in caught.value.reason


def test_bad_json_names_the_line(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        load(tmp_path, '{\n  "version": "1",\n  "title": oops\n}\n')
    assert caught.value.where == "line 3"
    assert "not valid JSON" in caught.value.reason


def test_redirected_source_needs_no_reader(tmp_path):
    source = load(tmp_path, changed(server="https://other.org/das/server", commands={
        "fmt": {"role": "formatter", "template": "f", "input": "das2/2.2/binary", "output": "csv"}}))
    assert source.redirect == "https://other.org/das/server"
    assert source.reader is None


def test_interface_sections_are_kept_and_checked(tmp_path):
    source = load(tmp_path, changed(interface={"formats": {"das": {"label": "das2 only"}}}))
    assert source.interface["formats"]["das"]["label"] == "das2 only"
    assert load(tmp_path, MINIMAL).interface is None
    with pytest.raises(DefinitionError) as caught:
        load(tmp_path, changed(interface={"widgets": {}}))
    assert "'widgets' was unexpected" in caught.value.reason


def test_server_must_be_an_absolute_url(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        load(tmp_path, changed(server="ftp://other.org/das"))
    assert caught.value.where == "key server"
