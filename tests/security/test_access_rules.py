"""``IP:`` access terms, ``maxRequestDays`` and the ``allow_from`` setting, at load time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dasflex_core.errors import DefinitionError
from dasflex_core.sources import common
from dasflex_core.sources.dsdf import load_dsdf, parse_dsdf_text, to_source
from dasflex_core.sources.jsondef import load_json_definition
from tests.support.paths import PROJECT_DIR

EXAMPLES = PROJECT_DIR / "examples" / "site" / "Examples"


def dsdf_source(extra: str) -> Any:
    text = (EXAMPLES / "Spectra.dsdf").read_text(encoding="utf-8") + "\n" + extra + "\n"
    return to_source(parse_dsdf_text(text, str(EXAMPLES / "Spectra.dsdf")), "Examples/Spectra")


def json_source(tmp_path: Path, access: dict[str, Any]) -> Any:
    document = json.loads((EXAMPLES / "Waveform.json").read_text(encoding="utf-8"))
    document["access"] = access
    path = tmp_path / "Waveform.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_json_definition(path, "Examples/Waveform", {"PYTHON": "python3"})


def test_ip_terms_are_parsed_and_normalised() -> None:
    access = common.parse_access("IP: 10.0.0.0/8 , 2001:db8::/32 | GROUP:team", "R")
    assert [(rule.method, rule.value) for rule in access.rules] == [
        ("IP", "10.0.0.0/8,2001:db8::/32"), ("GROUP", "team")]


@pytest.mark.parametrize("term", ["IP:", "IP:10.0.0.0/33", "IP:10.0.0.0/8,bogus",
                                  "IP:example.org", "IP:,"])
def test_bad_ip_terms_are_refused(term: str) -> None:
    with pytest.raises(ValueError, match="IP"):
        common.parse_access(term, "R")


def test_dsdf_ip_rule_and_limit_reach_the_model() -> None:
    source = dsdf_source("readAccess = 'IP:192.168.0.0/16 | USER:ann'\nmaxRequestDays = 2.5")
    assert source.protected and source.access.rules[0].value == "192.168.0.0/16"
    assert source.max_request_days == 2.5
    assert dsdf_source("").max_request_days == 0.0


@pytest.mark.parametrize(("extra", "fragment"), [
    ("readAccess = 'IP:300.1.2.3/8'", "bad IP range"),
    ("maxRequestDays = 'a week'", "maxRequestDays"),
    ("maxRequestDays = -1", "positive"),
])
def test_dsdf_bad_values_are_definition_errors(extra: str, fragment: str) -> None:
    with pytest.raises(DefinitionError, match=fragment) as caught:
        dsdf_source(extra)
    assert "\n" not in str(caught.value)


def test_dsdf_limit_is_not_published(tmp_path: Path) -> None:
    from dasflex_core.sources.dsdf import INTERNAL_KEYS

    assert "maxrequestdays" in INTERNAL_KEYS
    path = tmp_path / "Limited.dsdf"
    path.write_text("description = 'x'\nreader = 'true'\nmaxRequestDays = 3\n", encoding="utf-8")
    assert load_dsdf(path, "Limited").max_request_days == 3.0


def test_json_ip_rule_and_limit(tmp_path: Path) -> None:
    source = json_source(tmp_path, {"readAccess": "IP:10.1.0.0/16", "maxRequestDays": 7})
    assert source.access.rules[0].method == "IP" and source.max_request_days == 7.0
    limit_only = json_source(tmp_path, {"maxRequestDays": 0.25})
    assert not limit_only.protected and limit_only.max_request_days == 0.25


@pytest.mark.parametrize("access", [{"readAccess": "IP:10.0.0.0/99"}, {"maxRequestDays": 0},
                                    {"realm": "R"}, {"maxRequestDays": "1"}])
def test_json_bad_access_is_a_definition_error(tmp_path: Path, access: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError, match="access") as caught:
        json_source(tmp_path, access)
    assert "\n" not in str(caught.value)


def test_settings_allow_from_and_limit() -> None:
    from dasflex_core.settings import load_settings, setting_help

    settings = load_settings(environ={"DASFLEX_ALLOW_FROM": "10.0.0.0/8  ::1",
                                      "DASFLEX_MAX_REQUEST_DAYS": "31"})
    assert settings.allow_from.split() == ["10.0.0.0/8", "::1"]
    assert settings.max_request_days == 31.0
    assert load_settings(environ={}).allow_from == ""
    assert load_settings(environ={}).max_request_days == 0
    assert setting_help()["users_file"].endswith(
        "name:HASH (scrypt or pbkdf2_sha256; see docs/security.md)")
    with pytest.raises(DefinitionError, match="allow_from"):
        load_settings(environ={"DASFLEX_ALLOW_FROM": "10.0.0.0/8 intranet"})
    with pytest.raises(DefinitionError, match="max_request_days"):
        load_settings(environ={}, max_request_days=-1)
