"""A small strict parser of the Prometheus text exposition format."""

from __future__ import annotations

import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"({_NAME})(?:\{{(.*)\}})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_prometheus(text: str) -> dict[str, dict]:
    """Families by name: type, help and samples; AssertionError on any bad line."""
    assert text.endswith("\n")
    families: dict[str, dict] = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, keyword, name, rest = line.split(" ", 3)
            assert re.fullmatch(_NAME, name), line
            family = families.setdefault(name, {"samples": []})
            if keyword == "TYPE":
                assert rest in _TYPES and "type" not in family, line
                family["type"] = rest
            else:
                family["help"] = rest
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"bad sample line: {line!r}"
        name, labels_text, value = match.groups()
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        family = families.get(name) or families.get(base)
        assert family is not None and "type" in family, f"sample before its TYPE: {line!r}"
        labels = {}
        position = 0
        while labels_text and position < len(labels_text):
            label = _LABEL.match(labels_text, position)
            assert label, f"bad labels: {line!r}"
            labels[label.group(1)] = label.group(2)
            position = label.end()
        family["samples"].append((labels, float(value)))
    return families


