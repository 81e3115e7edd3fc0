"""SchemaChecks validates a document once per content and schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dasflex_core.errors import DefinitionError
from dasflex_core.sources.checks import SchemaChecks, document_digest, schema_digest
from dasflex_core.sources.loader import load_site

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "examples" / "site"


def counting_validator(calls: list[Any]) -> Any:
    def validate(document: Any, where: str) -> None:
        calls.append(where)
        if "bad" in document:
            raise DefinitionError(where, None, "bad document")
    return validate


def test_a_passed_document_is_not_checked_again(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text("{}")
    calls: list[Any] = []
    checks = SchemaChecks()
    checks.check({"a": 1}, "one", schema, counting_validator(calls))
    checks.check({"a": 1}, "two", schema, counting_validator(calls))
    assert calls == ["one"]
    assert checks.added == [document_digest({"a": 1}, schema)]
    again = SchemaChecks(checks.known)
    again.check({"a": 1}, "three", schema, counting_validator(calls))
    assert calls == ["one"] and again.added == []


def test_an_edited_document_or_schema_is_checked_again(tmp_path: Path) -> None:
    schema, other = tmp_path / "schema.json", tmp_path / "other.json"
    schema.write_text("{}")
    other.write_text('{"type": "object"}')
    calls: list[Any] = []
    checks = SchemaChecks()
    checks.check({"a": 1}, "one", schema, counting_validator(calls))
    checks.check({"a": 2}, "edited", schema, counting_validator(calls))
    checks.check({"a": 1}, "other schema", other, counting_validator(calls))
    assert calls == ["one", "edited", "other schema"]
    assert schema_digest(schema) != schema_digest(other)


def test_a_failed_document_is_not_remembered(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text("{}")
    checks = SchemaChecks()
    for _ in range(2):
        with pytest.raises(DefinitionError, match="bad document"):
            checks.check({"bad": 1}, "where", schema, counting_validator([]))
    assert not checks.known


def test_the_loader_records_every_json_document_of_the_site() -> None:
    checks = SchemaChecks()
    site = load_site(EXAMPLE_SITE, checks=checks)
    json_sources = [s for s in site if s.definition_format == "json"]
    assert json_sources and len(checks.added) == len(json_sources) + (site.commands is not None)
    again = SchemaChecks(checks.known)
    assert len(load_site(EXAMPLE_SITE, checks=again)) == len(site)
    assert again.added == []


def test_known_digests_do_not_hide_an_invalid_definition(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    definition = next(EXAMPLE_SITE.rglob("Waveform.json"))
    document = json.loads(definition.read_text())
    (site_dir / "Good.json").write_text(json.dumps(document))
    checks = SchemaChecks()
    load_site(site_dir, checks=checks)
    del document["title"]
    (site_dir / "Good.json").write_text(json.dumps(document))
    with pytest.raises(DefinitionError, match="title"):
        load_site(site_dir, checks=SchemaChecks(checks.known))
