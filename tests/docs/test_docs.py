"""The README's commands and CI cannot drift apart."""

from __future__ import annotations

import re

from tests.support.paths import PROJECT_DIR


def fenced_blocks(text: str) -> list[str]:
    """Return the contents of the fenced code blocks of a Markdown text."""
    return [block.strip() for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S)]


def test_readme_opens_with_serve_then_test_command() -> None:
    blocks = fenced_blocks((PROJECT_DIR / "README.md").read_text())
    assert "dasflex serve" in blocks[0]
    assert "pytest" in blocks[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = fenced_blocks((PROJECT_DIR / "README.md").read_text())[1]
    ci_lines = [
        line.strip()
        for line in (PROJECT_DIR / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert test_command in ci_lines
