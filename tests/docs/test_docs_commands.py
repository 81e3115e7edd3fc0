"""The documentation cannot drift from the code.

* every ``dasflex ...`` command in a fenced block of README.md or docs/*.md
  that uses the bundled site (``--site examples/site``) or no site runs with
  exit status 0 (server-starting commands run their ``--help``);
* every JSON schema in schemas/ has an example in examples/ that validates;
* ``dasflex --help`` and every subcommand's ``--help`` exit 0 and name every option.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dasflex_core.cli import build_parser
from tests.support.paths import PROJECT_DIR
from tests.support.processes import dasflex_env

DOCUMENTS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
BUNDLED_SITE = "examples/site"
SERVER_COMMANDS = {"serve", "ws", "worker"}
PASSWORD_INPUT = "docs-test-password\n"
_FENCE = re.compile(r"```[A-Za-z]*\n(.*?)```", re.S)
_COMMAND_START = re.compile(r"(?:^|\|\s*|&&\s*|\$\s+)(dasflex\s.*)$")
_SEPARATORS = re.compile(r"\s(?:\|\||\||&&|;)\s")


def documented_lines(path: Path) -> list[str]:
    """Logical lines (backslash continuations joined) of the fenced blocks of ``path``."""
    lines = []
    for block in _FENCE.findall(path.read_text(encoding="utf-8")):
        lines.extend(block.replace("\\\n", " ").splitlines())
    return lines


def dasflex_command(line: str) -> list[str] | None:
    """The ``dasflex`` argv a documented line runs, or None when it runs none."""
    match = _COMMAND_START.search(line.strip())
    if not match:
        return None
    text = _SEPARATORS.split(match.group(1))[0]
    text = re.split(r"\s+#", text)[0].rstrip(" &")
    try:
        argv = shlex.split(text)
    except ValueError:
        return None
    return argv if len(argv) >= 2 else None


def runnable(argv: list[str]) -> list[str] | None:
    """The argv to run for a documented command, None when it names another site."""
    if any("--site" in token for token in argv):
        index = argv.index("--site") if "--site" in argv else -1
        if index < 0 or argv[index + 1:index + 2] != [BUNDLED_SITE]:
            return None
    if any(token.startswith("[") or token.isupper() for token in argv[1:]):
        return None  # a synopsis with placeholders, not a command
    if argv[1] in SERVER_COMMANDS:
        return [argv[0], argv[1], "--help"]
    return argv


def documented_commands() -> list[tuple[str, list[list[str]]]]:
    """(document name, its runnable commands in order) for every document with any."""
    found = []
    for path in DOCUMENTS:
        commands = [runnable(argv) for argv in map(dasflex_command, documented_lines(path)) if argv]
        kept = [argv for argv in commands if argv]
        if kept:
            found.append((path.relative_to(PROJECT_DIR).as_posix(), kept))
    return found


DOCUMENTED = documented_commands()


def test_the_extractor_finds_commands():
    assert dasflex_command('echo "x" | dasflex passwd --users etc/passwd set ann') == [
        "dasflex", "passwd", "--users", "etc/passwd", "set", "ann"]
    assert dasflex_command("dasflex ws --port 52242 &") == ["dasflex", "ws", "--port", "52242"]
    assert dasflex_command("python3 -m pip install x") is None
    assert runnable(["dasflex", "check", "--site", "/srv/site"]) is None
    assert runnable(["dasflex", "serve", "--site", "examples/site"]) == ["dasflex", "serve", "--help"]
    names = [name for name, _ in DOCUMENTED]
    assert "docs/sources.md" in names and "docs/readers.md" in names


@pytest.mark.system  # runs every documented command as a process
@pytest.mark.parametrize("document, commands", DOCUMENTED, ids=[name for name, _ in DOCUMENTED])
def test_documented_commands_run(document, commands, tmp_path):
    """Each document's commands run in order in a scratch directory, as a reader would."""
    (tmp_path / "examples").symlink_to(PROJECT_DIR / "examples")
    (tmp_path / "etc").mkdir()
    environment = dasflex_env()
    for argv in commands:
        done = subprocess.run([sys.executable, "-m", "dasflex_core", *argv[1:]], cwd=tmp_path,
                              input=PASSWORD_INPUT, capture_output=True, text=True, timeout=300,
                              env=environment)
        shown = " ".join(argv)
        assert done.returncode == 0, f"{document}: `{shown}` failed:\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, f"{document}: `{shown}`"


# -- schemas ------------------------------------------------------------------------


def example_documents() -> list[tuple[Path, object]]:
    """(path, parsed document) of every JSON and TOML file in examples/."""
    import tomllib

    found: list[tuple[Path, object]] = []
    for path in sorted((PROJECT_DIR / "examples").rglob("*")):
        if "__pycache__" in path.parts:
            continue
        if path.suffix == ".json":
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
        elif path.suffix == ".toml":
            found.append((path, tomllib.loads(path.read_text(encoding="utf-8"))))
    return found


@pytest.mark.parametrize("schema_path", sorted((PROJECT_DIR / "schemas").glob("*.json")),
                         ids=lambda path: path.name)
def test_every_schema_has_a_valid_example(schema_path):
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    valid = [path for path, document in example_documents() if validator.is_valid(document)]
    assert valid, f"no file in examples/ validates against {schema_path.name}"


def test_documented_settings_files_are_valid():
    """Every ```toml block of README.md and docs/*.md is a valid settings file."""
    import tomllib

    from dasflex_core.settings import validate_settings_document

    blocks = [(path, block) for path in DOCUMENTS
              for block in re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)]
    assert len(blocks) >= 2
    for path, block in blocks:
        validate_settings_document(tomllib.loads(block), path.name)


def test_the_example_settings_file_serves_the_bundled_site():
    from dasflex_core.settings import load_settings

    settings = load_settings(PROJECT_DIR / "examples" / "dasflex.toml", environ={})
    assert settings.site_dir == PROJECT_DIR / "examples" / "site"
    assert settings.cache_dir == PROJECT_DIR / "cache"


def test_example_command_table_loads():
    from dasflex_core.commands import builtin_commands
    from dasflex_core.sources.loader import load_command_table

    table = load_command_table(PROJECT_DIR / "examples" / "commands" / "das3_to_das2.json")
    merged = builtin_commands().merged(table)
    assert "das3_to_das2" in {command.name for command in merged.commands}


# -- --help ------------------------------------------------------------------------------


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """(command words, parser) for ``dasflex`` and every (nested) subcommand."""
    found = []
    pending = [("dasflex", build_parser())]
    while pending:
        name, parser = pending.pop(0)
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend((f"{name} {word}", sub) for word, sub in action.choices.items())
    return found


PARSERS = all_parsers()


SUBCOMMANDS = [name.split()[1] for name, _ in PARSERS if name.count(" ") == 1]


def test_every_subcommand_module_is_registered():
    from dasflex_core.cli import SUBCOMMAND_MODULES, installed_commands

    assert set(installed_commands()) == {"serve", "ws"}
    assert len(set(SUBCOMMANDS)) == len(SUBCOMMANDS)
    assert len(SUBCOMMANDS) == len(SUBCOMMAND_MODULES) + 2
    assert {"import", "serve", "ws"} <= set(SUBCOMMANDS)


def test_the_readme_command_list_names_every_subcommand():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\* `dasflex ([a-z][a-z0-9-]*)", section, re.M)
    assert sorted(listed) == sorted(SUBCOMMANDS)


def test_the_default_site_reads_the_same_in_every_help():
    """Every ``--site`` that defaults to the configured site says so in the same words."""
    from dasflex_core.cli.common import SITE_HELP

    helps = {name: action.help for name, parser in PARSERS for action in parser._actions
             if "--site" in action.option_strings}
    assert {"dasflex check", "dasflex plan", "dasflex serve", "dasflex ws", "dasflex verify",
            "dasflex coverage", "dasflex cache build", "dasflex cache status"} <= set(helps)
    # `dasflex worker --site` replaces the path each job carries: it has no default site.
    assert helps.pop("dasflex worker") != SITE_HELP
    # The imports write into the site they are given: --site is required, without a default.
    for name in ("dasflex import-hapi", "dasflex import-das2"):
        assert helps.pop(name) != SITE_HELP
    assert set(helps.values()) == {SITE_HELP}
    described = [parser.description or "" for _, parser in PARSERS]
    assert not [text for text in described if "default" in text and "example" in text]


@pytest.mark.parametrize("name, parser", PARSERS, ids=[name for name, _ in PARSERS])
def test_help_names_every_option(name, parser):
    text = parser.format_help()
    for action in parser._actions:
        for option in action.option_strings:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), f"{name}: {option}"
        if not action.option_strings and action.dest != argparse.SUPPRESS:
            assert (action.metavar or action.dest) in text.replace("\n", " ") or action.choices


@pytest.mark.system  # runs `dasflex SUBCOMMAND --help` as processes
def test_help_exits_zero_from_the_command_line():
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "import" in done.stdout
    for name, _ in PARSERS[1:]:
        words = name.split()[1:]
        done = subprocess.run([sys.executable, "-m", "dasflex_core", *words, "--help"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{name} --help: {done.stderr}"
        assert done.stdout.startswith("usage: dasflex " + " ".join(words))
