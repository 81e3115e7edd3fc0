"""DSDF syntax, variable substitution and conversion of every key into the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core.commands import builtin_commands
from dasflex_core.errors import DefinitionError
from dasflex_core.model import (
    DAS1_BINARY,
    DAS2_BINARY,
    DAS3_BINARY,
    QSTREAM_BINARY,
    CommandRole,
    ParamType,
)
from dasflex_core.planner import plan, translate
from dasflex_core.sources.dsdf import (
    INTERNAL_KEYS,
    load_dsdf,
    parse_dsdf_text,
    read_dsdf,
    substitute,
    to_source,
    unknown_keys,
)


def parse(text: str):
    return parse_dsdf_text(text, "/site/Test.dsdf")


def convert(text: str, tmp_path: Path, name: str = "Test.dsdf", variables=None):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_dsdf(path, name.rsplit(".", 1)[0], variables or {})


def values(document) -> dict[str, str]:
    return {entry.key: entry.value for entry in document.entries}


# ----------------------------------------------------------------------------- syntax

def test_comments_are_dropped_but_not_inside_quotes():
    document = parse("; a comment line\n"
                     "description = 'Waves; not a comment'  ; trailing comment\n"
                     "plain = value ; comment\n"
                     "   ; indented comment\n")
    assert values(document) == {"description": "Waves; not a comment", "plain": "value"}


def test_single_and_double_quotes_and_doubled_single_quote():
    document = parse("a = 'single'\nb = \"double\"\nc = 'it''s'\nd = bare words\n")
    assert values(document) == {"a": "single", "b": "double", "c": "it's", "d": "bare words"}


def test_idl_continuation_joins_quoted_parts():
    document = parse("summary = 'first part, ' + $\n"
                     "          'second part, ' $\n"
                     "          'third'\n"
                     "next = 1\n")
    assert document.value("summary") == "first part, second part, third"
    assert document.get("summary").line == 1
    assert document.get("next").line == 4


def test_unquoted_continuation_joins_with_a_blank():
    document = parse("reader = prog --one $\n    --two\n")
    assert document.value("reader") == "prog --one --two"


def test_continuation_lines_keep_real_line_numbers_in_errors():
    with pytest.raises(DefinitionError) as caught:
        parse("a = 'x' + $\n 'y'\n\n; c\nthis line is wrong\n")
    assert caught.value.where == "line 5"
    assert "/site/Test.dsdf: line 5:" in str(caught.value)


def test_list_keys_with_and_without_underscore():
    document = parse("param_00 = 'a | first'\nparam01 = 'b | second'\nexampleRange_10 = 'x to y'\n")
    assert [(e.base, e.index) for e in document.items("param")] == [("param", "00"), ("param", "01")]
    assert document.items("exampleRange")[0].index == "10"
    assert document.get("param_00") is None


def test_keys_are_case_insensitive_for_lookup():
    document = parse("DESCRIPTION = 'x'\n")
    assert document.value("description") == "x"


@pytest.mark.parametrize("text, reason", [
    ("no equals sign here\n", "expected 'key = value'"),
    ("bad key! = 1\n", "bad key name"),
    ("a = 'open\n", "never closed"),
    ("a = 1\nA = 2\n", "repeats the one on line 1"),
    ("p_00 = 1\np00 = 2\n", "repeats the one on line 1"),
])
def test_syntax_errors_name_the_line(text, reason):
    with pytest.raises(DefinitionError) as caught:
        parse(text)
    assert reason in caught.value.reason
    assert caught.value.where == f"line {text.count(chr(10))}"
    assert caught.value.path == "/site/Test.dsdf"


# ----------------------------------------------------------------------------- substitution

def test_substitution_from_this_file_keys_config_and_defaults(tmp_path):
    path = tmp_path / "Sub.dsdf"
    path.write_text("base = '/data'\n"
                    "a = '$(base)/x and $(THIS_DIR)'\n"
                    "b = '$(CONFIG_DIR)/y'\n"
                    "c = '$(MISSING,fallback) $(THIS_FILE)'\n", encoding="utf-8")
    document = read_dsdf(path, {"CONFIG_DIR": "/etc/site"})
    assert document.value("a") == f"/data/x and {tmp_path.resolve()}"
    assert document.value("b") == "/etc/site/y"
    assert document.value("c") == f"fallback {path.resolve()}"


def test_this_file_cannot_be_overridden_by_keys_or_config():
    document = parse("THIS_DIR = '/evil'\nr = '$(THIS_DIR)'\n")
    result = substitute(document, {"THIS_DIR": "/real", "THIS_FILE": "/real/x.dsdf"})
    assert result.value("r") == "/real"


def test_undefined_variable_names_key_and_line():
    with pytest.raises(DefinitionError) as caught:
        substitute(parse("a = 1\nb = '$(NOPE)'\n"), {})
    assert caught.value.where == "line 2"
    assert "$(NOPE)" in caught.value.reason


def test_substitutions_false_turns_substitution_off():
    document = substitute(parse("substitutions = false\na = '$(NOPE)'\n"), {})
    assert document.value("a") == "$(NOPE)"


def test_endless_substitution_is_an_error():
    with pytest.raises(DefinitionError, match="endlessly"):
        substitute(parse("a = '$(b)'\nb = '$(a)'\n"), {})


def test_substituted_values_stay_one_reader_argument(tmp_path):
    source = convert("reader = '$(TOOL) --dir $(DATA)'\ndas2Stream = 1\n", tmp_path,
                     variables={"TOOL": "/opt/my tools/rdr", "DATA": "/data dir"})
    assert source.reader.template[:3] == ("/opt/my tools/rdr", "--dir", "/data dir")


# ----------------------------------------------------------------------------- the reader command

def test_reader_gets_begin_end_then_options_as_template_slots(tmp_path):
    source = convert("description = 'x'\nreader = 'prog -a \"two words\"'\ndas2Stream = 1\n", tmp_path)
    reader = source.reader
    assert reader.role is CommandRole.READER and reader.input is None
    assert reader.template == ("prog", "-a", "two words", "#[read.time.min]", "#[read.time.max]",
                               "#[read.opts#@#]")
    assert reader.output == DAS2_BINARY
    assert reader.cwd == str(tmp_path.resolve())


def test_relative_reader_paths_resolve_against_the_definition_directory(tmp_path):
    source = convert("reader = '../bin/rdr.py ./conf sub/x'\n", tmp_path)
    program, conf, other = source.reader.template[:3]
    assert program == str((tmp_path / "../bin/rdr.py").resolve())
    assert conf == str((tmp_path / "conf").resolve())
    assert other == "sub/x"


def test_params_marker_places_options_with_default(tmp_path):
    source = convert("reader = 'prog $(PARAMS,--all) --fast'\n", tmp_path)
    assert source.reader.template == ("prog", "#[read.opts#@#--all]", "--fast",
                                      "#[read.time.min]", "#[read.time.max]")


def test_requires_interval_and_drop_params(tmp_path):
    source = convert("reader = 'eph'\nrequiresInterval = 1\ndropParams = true\n", tmp_path)
    assert source.requires_interval
    assert source.reader.template == ("eph", "#[read.time.inter]", "#[read.time.min]", "#[read.time.max]")
    assert source.param("read.time.inter").required
    assert source.param("read.opts") is None


def test_das1_items_key_requires_an_interval(tmp_path):
    assert convert("reader = 'old'\nitems = 3\n", tmp_path).requires_interval


def test_unsplittable_reader_names_the_line(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        convert("description = 'x'\nreader = 'prog \"unclosed'\n", tmp_path)
    assert caught.value.where == "line 2"
    assert "cannot split" in caught.value.reason


def test_missing_reader_is_reported_by_key(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        convert("description = 'no reader'\n", tmp_path)
    assert caught.value.where == "key reader"


def test_redirected_source_needs_no_reader(tmp_path):
    source = convert("description = 'moved'\nserver = 'https://other.org/das/server'\n", tmp_path)
    assert source.commands == ()
    assert source.redirect == "https://other.org/das/server"
    renamed = convert("rename = 'New/Id'\n", tmp_path, name="Old.dsdf")
    assert renamed.rename == "New/Id" and renamed.redirect == "New/Id"


# ----------------------------------------------------------------------------- stream types and reducers

@pytest.mark.parametrize("key, expected", [
    ("das2Stream", DAS2_BINARY), ("das3Stream", DAS3_BINARY), ("qstream", QSTREAM_BINARY),
])
def test_stream_type_keys(tmp_path, key, expected):
    assert convert(f"reader = 'r'\n{key} = 1\n", tmp_path).output == expected


def test_no_stream_key_means_das1(tmp_path):
    source = convert("reader = 'r'\n", tmp_path)
    assert source.output == DAS1_BINARY
    assert not source.reducible


def test_das2_sources_get_the_default_reducer(tmp_path):
    source = convert("reader = 'r'\ndas2Stream = 1\n", tmp_path)
    assert source.reducible
    assert all(c.role is not CommandRole.REDUCER for c in source.commands)
    table_reducer = next(c for c in builtin_commands().commands if c.role is CommandRole.REDUCER)
    assert table_reducer.input == table_reducer.output == DAS2_BINARY
    assert table_reducer.conditions[0].key == "bin.time.max" and table_reducer.conditions[0].compare == "gt"
    query = {"read.time.min": "2001-01-01", "read.time.max": "2001-01-02"}
    assert plan(source, {**query, "bin.time.max": "60"}).stages[1] == (
        "das2_bin_avgsec", "-b", "2001-01-01T00:00:00", "60")
    assert len(plan(source, {**query, "bin.time.max": "0"}).stages) == 1
    assert source.param("bin.time.max").type is ParamType.REAL


def test_a_reducer_key_naming_the_table_reducer_means_the_table_reducer(tmp_path):
    source = convert("reader = 'r'\ndas2Stream = 1\nreducer = 'das2_bin_avgsec'\n", tmp_path)
    assert all(c.role is not CommandRole.REDUCER for c in source.commands)
    stages = plan(source, {"read.time.min": "2001-01-01", "read.time.max": "2001-01-02",
                           "bin.time.max": "60"}).stages
    assert stages[1] == ("das2_bin_avgsec", "-b", "2001-01-01T00:00:00", "60")


def test_named_reducer(tmp_path):
    source = convert("reader = 'r'\ndas2Stream = 1\nreducer = 'das2_bin_peakavgsec -x'\n", tmp_path)
    reducer = next(c for c in source.commands if c.role is CommandRole.REDUCER)
    assert reducer.template == ("das2_bin_peakavgsec", "-x", "#[bin.time.max]")


@pytest.mark.parametrize("key", ["not_reducible", "not_reducable", "pre_reduced"])
def test_not_reducible(tmp_path, key):
    source = convert(f"reader = 'r'\ndas2Stream = 1\n{key} = 1\n", tmp_path)
    assert not source.reducible
    assert all(c.role is not CommandRole.REDUCER for c in source.commands)
    assert source.param("bin.time.max") is None


def test_bad_boolean_names_the_line(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        convert("reader = 'r'\ndas2Stream = perhaps\n", tmp_path)
    assert caught.value.where == "line 2"


# ----------------------------------------------------------------------------- params and examples

def test_one_param_is_a_string_option(tmp_path):
    source = convert("reader = 'r'\nparam_00 = 'smooth | Smooth the data'\n", tmp_path)
    option = source.param("read.opts")
    assert option.type is ParamType.STRING
    assert option.title == "Smooth the data"


def test_several_params_make_a_flagset(tmp_path):
    source = convert("reader = 'r'\n"
                     "param_00 = '--a | First'\n"
                     "param_01 = '--level | Level | integer | 3'\n", tmp_path)
    option = source.param("read.opts")
    assert option.type is ParamType.FLAGSET and option.flag_sep == " "
    first, second = option.flags
    assert (first.key, first.value, first.title) == ("param_00", "--a", "First")
    assert (second.type, second.default) == (ParamType.INTEGER, "3")


def test_unknown_param_type_names_the_line(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        convert("reader = 'r'\nparam_00 = 'a | b'\nparam_01 = 'c | d | colour'\n", tmp_path)
    assert caught.value.where == "line 3" and "colour" in caught.value.reason


def test_example_ranges_with_params_interval_and_resolution(tmp_path):
    source = convert("reader = 'r'\ndas2Stream = 1\n"
                     "exampleRange_00 = '2017-01-01 to 2017-01-02 UTC | One day'\n"
                     "exampleRange_01 = '2017-01-01T00:00 to 2017-01-01T00:10'\n"
                     "exampleParams_01 = '--a --b'\n"
                     "exampleInterval_01 = '60'\n"
                     "exampleResolution_01 = '5'\n", tmp_path)
    first, second = source.examples
    assert first.label == "One day"
    assert dict(first.settings) == {"read.time.min": "2017-01-01", "read.time.max": "2017-01-02",
                                    "bin.time.max": "43.2"}
    assert second.label == "2017-01-01T00:00 to 2017-01-01T00:10"
    assert second.settings["read.opts"] == "--a --b"
    assert second.settings["read.time.inter"] == "60"
    assert second.settings["bin.time.max"] == "5"


def test_examples_of_unreducible_sources_have_no_resolution(tmp_path):
    source = convert("reader = 'r'\nexampleRange_00 = '2017-01-01 to 2017-01-02'\n", tmp_path)
    assert "bin.time.max" not in source.examples[0].settings


def test_bad_example_range_names_the_line(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        convert("reader = 'r'\n\nexampleRange_00 = '2017-01-01 until 2017-01-02'\n", tmp_path)
    assert caught.value.where == "line 3" and "BEGIN to END" in caught.value.reason


# ----------------------------------------------------------------------------- metadata keys

def test_metadata_keys(tmp_path):
    source = convert("description = 'Title'\nsummary = 'Longer text'\nreader = 'r'\n"
                     "validRange = '1977-09-05 to now'\n"
                     "techContact = 'Tech Person <tech@x.org>, Other <o@x.org>'\n"
                     "sciContact = 'Sci Person'\n"
                     "coord_00 = 'time | Time | UTC'\n"
                     "item_00 = 'efield | Electric field | V/m'\n"
                     "data_01 = 'bfield | Magnetic field'\n"
                     "hapi = 1\nrealTime = yes\nhidden = true\n", tmp_path)
    assert (source.title, source.summary) == ("Title", "Longer text")
    assert source.valid_range == ("1977-09-05", "now")
    assert [(c.name, c.email, c.role) for c in source.contacts] == [
        ("Tech Person", "tech@x.org", "technical"), ("Other", "o@x.org", "technical"),
        ("Sci Person", "", "scientific")]
    assert [(v.name, v.title, v.units) for v in source.coords] == [("time", "Time", "UTC")]
    assert [v.name for v in source.data] == ["efield", "bfield"]
    assert source.data[1].units == ""
    assert source.hapi and source.realtime and source.hidden


def test_title_defaults_to_the_id(tmp_path):
    assert convert("reader = 'r'\n", tmp_path, name="Plain.dsdf").title == "Plain"


def test_read_access_and_realm(tmp_path):
    source = convert("reader = 'r'\nreadAccess = 'AGE:1y6m | GROUP:team | USER:ann'\n"
                     "securityRealm = 'Team data'\n", tmp_path)
    assert source.protected
    assert [(r.method, r.value) for r in source.access.rules] == [
        ("AGE", "1y6m"), ("GROUP", "team"), ("USER", "ann")]
    assert source.access.realm == "Team data"
    assert source.access.raw == "AGE:1y6m | GROUP:team | USER:ann"


def test_group_access_and_default_realm(tmp_path):
    source = convert("reader = 'r'\ngroupAccess = 'team'\n", tmp_path, name="Grp.dsdf")
    assert [(r.method, r.value) for r in source.access.rules] == [("GROUP", "team")]
    assert source.access.realm == "Grp"


@pytest.mark.parametrize("value", ["WHO:x", "AGE:soon", "GROUP:", "GROUP:a b", "|"])
def test_bad_read_access_names_the_line(tmp_path, value):
    with pytest.raises(DefinitionError) as caught:
        convert(f"reader = 'r'\nreadAccess = '{value}'\n", tmp_path)
    assert caught.value.where == "line 2"


def test_cache_levels(tmp_path):
    source = convert("reader = 'r'\ncacheLevel_00 = '250 ms | hourly'\n"
                     "cacheLevel_10 = '1 s | daily | --hf'\ncacheLevel_20 = 'intrinsic | monthly'\n"
                     "cacheReader = 'my_cache_rdr'\n", tmp_path)
    levels = source.cache_levels
    assert [(c.key, c.resolution, c.block, c.params) for c in levels] == [
        ("00", 0.25, "hourly", ""), ("10", 1.0, "daily", "--hf"), ("20", None, "monthly", "")]
    assert "cacheReader" not in dict(source.das2_properties)


@pytest.mark.parametrize("value, reason", [("1 s | weekly", "cache period"),
                                           ("1 fortnight | daily", "time unit")])
def test_bad_cache_level_names_the_line(tmp_path, value, reason):
    with pytest.raises(DefinitionError) as caught:
        convert(f"reader = 'r'\ncacheLevel_00 = '{value}'\n", tmp_path)
    assert caught.value.where == "line 2" and reason in caught.value.reason


def test_sub_sources(tmp_path):
    source = convert("reader = 'r'\nsubSource_00 = 'hf | High band | 60 | --hf'\n", tmp_path)
    sub = source.sub_sources[0]
    assert (sub.key, sub.description, sub.resolution, sub.params) == ("hf", "High band", "60", "--hf")


def test_das2_properties_keep_public_keys_and_drop_internal_ones(tmp_path):
    source = convert("description = 'd'\nreader = '/secret/bin/r'\nreducer = 'red'\n"
                     "readAccess = 'GROUP:g'\nsecurityRealm = 'R'\nlocalId = 'X/Y'\n"
                     "cacheLevel_00 = '1 s | daily'\nsubSource_00 = 'k'\nhapi = 1\n"
                     "das2Stream = 1\nexampleRange00 = '2001-01-01 to 2001-01-02'\n"
                     "customKey = 'custom value'\n", tmp_path)
    properties = dict(source.das2_properties)
    assert properties == {"description": "d", "securityRealm": "R", "das2Stream": "1",
                          "exampleRange_00": "2001-01-01 to 2001-01-02",
                          "customKey": "custom value"}
    assert all(key.lower() not in INTERNAL_KEYS for key in properties)


def test_unknown_keys_are_reported_for_checking():
    document = parse("description = 'd'\nmyOwnKey = 1\nparam_00 = 'a'\n")
    assert [e.key for e in unknown_keys(document)] == ["myOwnKey"]


def test_conventions_translate_das2_keys():
    document = parse("reader = 'r'\ndas2Stream = 1\n")
    source = to_source(document, "X/Y")
    assert source.conventions == {}  # the command table owns the standard conventions
    das2 = translate({"start_time": "2001-01-01", "params": "-x", "dataset": "X/Y"}, "das2", source)
    assert das2 == {"format.type": "das", "format.version": "2", "read.time.min": "2001-01-01",
                    "read.opts": "-x"}
    assert translate({"start_time": "2001-01-01"}, "flex", source) == {"start_time": "2001-01-01"}


def test_unreadable_file(tmp_path):
    with pytest.raises(DefinitionError, match="cannot read"):
        read_dsdf(tmp_path / "absent.dsdf")
    binary = tmp_path / "bin.dsdf"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DefinitionError, match="UTF-8"):
        read_dsdf(binary)


def test_server_must_be_an_absolute_url(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        convert("description = 'moved'\nserver = 'other.org/das'\n", tmp_path)
    assert caught.value.where == "line 2" and "absolute http(s) URL" in caught.value.reason


_KEYS = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,11}", fullmatch=True).filter(
    lambda k: not k[-2:].isdigit())
_VALUES = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="'\"$"),
                  max_size=40)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(_KEYS, st.tuples(_VALUES, st.integers(0, 40), st.booleans()), max_size=8))
def test_written_values_read_back(entries):
    """Any value, quoted and possibly split over continuation lines, reads back unchanged."""
    unique = {}
    for key, item in entries.items():
        unique.setdefault(key.lower(), (key, item))
    lines = []
    for key, (value, cut, comment) in unique.values():
        cut = min(cut, len(value))
        text = f"{key} = '{value[:cut]}' + $\n    '{value[cut:]}'" if cut else f"{key} = '{value}'"
        lines.append(text + ("  ; note" if comment else ""))
    document = parse("\n".join(lines) + "\n")
    assert {e.key: e.value for e in document.entries} == {k: v[0] for k, v in unique.values()}
