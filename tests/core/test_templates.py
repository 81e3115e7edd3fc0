"""The ``#[...]`` template language: parsing, rendering to argv, value checks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core.errors import DefinitionError, QueryError
from dasflex_core.model import Flag, Param, ParamType
from dasflex_core.templates import (
    MAX_VALUE_LENGTH,
    compile_template,
    normalise_value,
)

RENDER_CASES = [
    # (template, values, expected argv)
    ("rdr #[a] #[b]", {"a": "1", "b": "2"}, ["rdr", "1", "2"]),
    ("rdr #[a]", {"a": "two words"}, ["rdr", "two words"]),
    ("rdr #[a # -a @]", {"a": "x"}, ["rdr", "-a", "x"]),
    ("rdr #[a # -a @ #]", {}, ["rdr"]),
    ("rdr #[a # -a @ # -n]", {}, ["rdr", "-n"]),
    ("rdr #[a # -a @ # --none here]", {}, ["rdr", "--none", "here"]),
    ("rdr #[a # -a @ #]", {"a": ""}, ["rdr"]),
    ("rdr #[a]", {"a": ""}, ["rdr"]),
    ("rdr --a=#[a]", {"a": "5"}, ["rdr", "--a=5"]),
    ("rdr x#[a # -s @ #]y", {"a": "1"}, ["rdr", "x-s", "1y"]),
    ("rdr x#[a # -s @ #]y", {}, ["rdr", "xy"]),
    ("rdr #[a#@#]", {"a": "p q ; r"}, ["rdr", "p q ; r"]),
    ("rdr #[a # @@ #]", {"a": "v"}, ["rdr", "vv"]),
    ("rdr #[p( |mfr|=) # -mfr @ # ]", {"p": "10 mfr=3 x"}, ["rdr", "-mfr", "3"]),
    ("rdr #[p( |mfr|=) # -mfr @ # ]", {"p": "10 x"}, ["rdr"]),
    ("rdr #[p( |mfr|=) # -mfr @ # ]", {}, ["rdr"]),
    ("rdr #[p(,|lfdr|) # --lfdr #]", {"p": "a,lfdr,b"}, ["rdr", "--lfdr"]),
    ("rdr #[p(,|lfdr|) # --lfdr #]", {"p": "a,b"}, ["rdr"]),
    ("rdr #[p(|false|) # -n #]", {"p": "false"}, ["rdr", "-n"]),
    ("rdr #[p(|false|) # -n #]", {"p": "true"}, ["rdr"]),
    ("rdr #[p(|n|=) # -n @ #]", {"p": "a n=4 b"}, ["rdr", "-n", "4"]),
    ("rdr #[_LOCAL_ID_] #[_SERVER_]", {"_LOCAL_ID_": "A/B", "_SERVER_": "http://h"},
     ["rdr", "A/B", "http://h"]),
    ("  rdr\t #[a]  ", {"a": "1"}, ["rdr", "1"]),
    ("rdr # literal", {}, ["rdr", "#", "literal"]),
]


@pytest.mark.parametrize(("text", "values", "expected"), RENDER_CASES)
def test_render(text: str, values: dict[str, str], expected: list[str]) -> None:
    assert compile_template(text).render(values) == expected


def test_token_sequence_is_joined_like_text() -> None:
    tokens = ("das2_psd", "#[dft.length]", "#[dft.slide#@#2]")
    template = compile_template(tokens)
    assert template.render({"dft.length": "512"}) == ["das2_psd", "512", "2"]
    assert template.render({"dft.length": "512", "dft.slide": "4"}) == ["das2_psd", "512", "4"]


@pytest.mark.parametrize("text", ["rdr #[a]", "rdr #[a # -a @]"])
def test_required_key_missing(text: str) -> None:
    with pytest.raises(QueryError, match="Missing query parameter 'a'"):
        compile_template(text).render({})


def test_keys_and_required_keys() -> None:
    template = compile_template("r #[a] #[b # x @] #[c # @ #] #[d( |k|=) # @ #]")
    assert template.keys == {"a", "b", "c", "d"}
    assert template.required_keys == {"a", "b"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("rdr #[a", "unterminated"),
        ("rdr #[a # #[b] ]", "nested"),
        ("rdr #[a # b # c # d]", "too many"),
        ("rdr #[9a]", "bad selector"),
        ("rdr #[a b]", "bad selector"),
        ("rdr #[a(x)]", "bad sub-selector"),
        ("rdr #[a(x||=)]", "bad sub-selector"),
        ("rdr a]", "stray"),
        ("   ", "empty"),
    ],
)
def test_compile_errors(text: str, reason: str) -> None:
    with pytest.raises(DefinitionError, match=reason) as caught:
        compile_template(text, "Examples/X", "command reader")
    assert str(caught.value).startswith("Examples/X: command reader: ")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1))
def test_a_value_is_always_one_element(value: str) -> None:
    template = compile_template("rdr #[a] #[b # -b @ #] tail")
    argv = template.render({"a": value, "b": value})
    assert argv == ["rdr", value, "-b", value, "tail"]


# --------------------------------------------------------------------------
# value checks


def param(kind: ParamType, **fields: object) -> Param:
    return Param("p", kind, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2001-01-01", "2001-01-01T00:00:00"),
        ("2001-01-01T12:34:56Z", "2001-01-01T12:34:56"),
        (" 2001-01-01T12:34 ", "2001-01-01T12:34:00"),
        ("2001-01-01T12:34:56.500", "2001-01-01T12:34:56.5"),
    ],
)
def test_isotime_is_normalised(value: str, expected: str) -> None:
    assert normalise_value("t", value, SimpleNamespace(type="isotime")) == expected


@pytest.mark.parametrize("value", ["yesterday", "2001-02-30", "", "2001-01-01; ls", "2001-01-01`id`"])
def test_bad_isotime(value: str) -> None:
    with pytest.raises(QueryError, match="'read.time.min' is not a valid time"):
        normalise_value("read.time.min", value, SimpleNamespace(type="isotime"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("60", "60"), ("60.0", "60"), ("0.5", "0.5"), ("+1e3", "1000"), ("-2.5e-3", "-0.0025"),
     (".25", "0.25")],
)
def test_real(value: str, expected: str) -> None:
    assert normalise_value("r", value, SimpleNamespace(type="real")) == expected


@pytest.mark.parametrize("value", ["nan", "inf", "1_000", "0x10", "1e999", "1,5", "", "5 6"])
def test_bad_real(value: str) -> None:
    with pytest.raises(QueryError, match="'bin.time.max' must be a real number"):
        normalise_value("bin.time.max", value, SimpleNamespace(type="real"))


def test_real_bounds() -> None:
    bounded = SimpleNamespace(type="real", minimum=0, maximum=10)
    assert normalise_value("r", "10", bounded) == "10"
    with pytest.raises(QueryError, match="at least 0"):
        normalise_value("r", "-1", bounded)
    with pytest.raises(QueryError, match="at most 10"):
        normalise_value("r", "10.5", bounded)


def test_integer() -> None:
    spec = SimpleNamespace(type="integer", minimum=16, maximum=1024)
    assert normalise_value("n", "0512", spec) == "512"
    for bad in ("5.0", "abc", "1e3", "99999999999999999999999"):
        with pytest.raises(QueryError, match="'n' must be"):
            normalise_value("n", bad, spec)
    with pytest.raises(QueryError, match="at least 16"):
        normalise_value("n", "8", spec)


def test_enum_and_flagset_with_the_model() -> None:
    from dasflex_core.model import EnumValue
    from dasflex_core.planner.query import _ParamView

    enum = _ParamView(param(ParamType.ENUM, enum=(EnumValue("a"), EnumValue("b"))))
    assert normalise_value("e", "b", enum) == "b"
    with pytest.raises(QueryError, match="'e' must be one of: a, b"):
        normalise_value("e", "c", enum)
    flags = _ParamView(param(ParamType.FLAGSET, flags=(Flag("x", "-x"), Flag("y", "-y"))))
    assert normalise_value("f", " -y   -x ", flags) == "-y -x"
    with pytest.raises(QueryError, match="'f' has an unknown flag '-z'"):
        normalise_value("f", "-x -z", flags)


def test_boolean() -> None:
    spec = SimpleNamespace(type="boolean")
    assert normalise_value("b", "Yes", spec) == "true"
    assert normalise_value("b", "0", spec) == "false"
    with pytest.raises(QueryError, match="'b' must be true or false"):
        normalise_value("b", "maybe", spec)


def test_string_pattern_and_length() -> None:
    spec = SimpleNamespace(type="string", pattern=r"[a-z ]*", max_length=8)
    assert normalise_value("s", "ab cd", spec) == "ab cd"
    with pytest.raises(QueryError, match="'s' contains characters that are not allowed"):
        normalise_value("s", "a;b", spec)
    with pytest.raises(QueryError, match="'s' is longer than 8"):
        normalise_value("s", "abcdefghi", spec)
    default = SimpleNamespace(type="string")
    for bad in ("`id`", "$(id)", "a'b", 'a"b', "a|b", "a&b", "a<b"):
        with pytest.raises(QueryError, match="not allowed"):
            normalise_value("s", bad, default)


@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "a\rb", "\x1b[0m", "a\x7fb", "a\u0085b"])
def test_control_characters_refused(value: str) -> None:
    with pytest.raises(QueryError, match="'s' contains a control character"):
        normalise_value("s", value, SimpleNamespace(type="string", pattern=".*"))


def test_overlong_value_refused_for_every_type() -> None:
    for kind in ("string", "real", "isotime", "enum"):
        with pytest.raises(QueryError, match="too long"):
            normalise_value("s", "1" * (MAX_VALUE_LENGTH + 1), SimpleNamespace(type=kind))


def test_unknown_type() -> None:
    with pytest.raises(QueryError, match="unsupported type 'complex'"):
        normalise_value("s", "1", SimpleNamespace(type="complex"))


@pytest.mark.parametrize("module_name", ["dasflex_core.templates", "dasflex_core.planner",
                                         "dasflex_core.planner.query", "dasflex_core.planner.search",
                                         "dasflex_core.planner.naming", "dasflex_core.cache.choice",
                                         "dasflex_core.keys", "dasflex_core.runner",
                                         "dasflex_core.commands"])
def test_docstring_examples_run(module_name: str) -> None:
    import doctest
    import importlib

    module = importlib.import_module(module_name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
