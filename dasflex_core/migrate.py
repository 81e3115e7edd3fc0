"""Import a predecessor dasFlex site into a new dasflex site directory.

The old site is a directory holding the predecessor's files: ``dasflex.conf``
(at the top or in ``etc/``), DSDF files and ``_dirinfo_.dsdf`` files (below
``datasets/``, ``dsdf/`` or the top), ``passwd`` and ``group``, a peers INI
file and an optional ``commands.json``.  :func:`import_site` writes::

    NEW/dasflex.toml        settings from the dasflex.conf keys that map
    NEW/site/...            DSDF files, normalised (UTF-8, LF, config $(VARS) expanded)
    NEW/site/_commands.json custom commands, when any could be carried over
    NEW/users  NEW/groups   accounts whose hashes dasflex accepts
    NEW/peers.ini           the peers file

then loads the new site as ``dasflex check`` does.  Whatever cannot be
carried over is listed in the returned :class:`ImportReport`, never silently
dropped.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dasflex_core.auth import hash_scheme, legacy_crypt_available
from dasflex_core.errors import DasFlexError, DefinitionError
from dasflex_core.settings import load_settings
from dasflex_core.sources.loader import load_command_table, scan_site

__all__ = ["CONF_TO_SETTINGS", "ImportReport", "import_site", "read_conf"]

#: dasflex.conf keys carried into the settings file, with the setting they set.
CONF_TO_SETTINGS: Mapping[str, str] = {
    "SITE_TITLE": "site_title",
    "SERVER_URL": "server_url",
    "SERVER_ID": "server_id",
    "CONTACT_EMAIL": "contact_email",
    "CONTACT_URL": "contact_url",
    "ENABLE_HAPI_SUBSYS": "hapi_enabled",
    "IGNORE_REDIRECT": "ignore_redirect",
    "ALLOW_TEST_FROM": "allow_from",
    "SAMPLE_DSDF": "sample_source",
}
#: Keys that name files: carried by copying the file into the new site.
_FILE_KEYS = ("USER_PASSWD", "USER_GROUP", "PEERS_FILE", "RESOURCE_PATH", "DATASRC_ROOT")
#: Keys with no equivalent that need no action: dasflex does this by itself.
_OBSOLETE_KEYS: Mapping[str, str] = {
    "SERVER_NAME": "the catalog title comes from site_title",
    "MODULE_PATH": "dasflex needs no module path",
    "BIN_PATH": "put the tools on PATH of the server process",
    "LIB_PATH": "set LD_LIBRARY_PATH in the server's environment",
    "STYLE_SHEET": "dasflex ships its own pages",
    "MIME_FILE": "MIME types come from the command table",
    "D2S_CSV_CONVERTER": "CSV is made by the built-in das3_csv",
    "D2S_TO_UTF8": "das2 text is made by the built-in das2_ascii",
    "VIEW_LOG_ALLOW": "unused by the predecessor",
    "ENABLE_VERIFIER": "unused by the predecessor",
    "WS_LISTEN": "unused by the predecessor",
    "WS_PORT": "unused by the predecessor",
    "SITE_ID": "unused by the predecessor",
    "SITE_CATALOG_TAG": "unused by the predecessor",
}
_TRUE_WORDS = ("1", "true", "yes", "on")
_VARIABLE = re.compile(r"\$\((?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:,[^()]*)?\)")
_INTERPOLATION = re.compile(r"%\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)s")
_SHELL_CHARACTERS = re.compile(r"[|&;<>`]|\$\(\s*[a-z]|\|\|")
_DES_DEFAULT_ACCOUNT = ("testuser", "lL")
_MIME_TO_STREAM: Mapping[str, str] = {
    "application/vnd.das2.das2stream": "das2/2.2/binary",
    "text/vnd.das2.das2stream": "das2/2.2/text",
    "application/vnd.das.stream": "das3/3.0/binary",
    "text/vnd.das.stream": "das3/3.0/text",
    "text/csv": "csv",
    "image/png": "png",
}
_OLD_ROLES: Mapping[str, str] = {
    "reduce": "reducer", "psd": "transform", "format.csv": "formatter", "das2png": "formatter",
    "read.cache": "cache_reader",
}


@dataclass(slots=True)
class ImportReport:
    """What :func:`import_site` wrote and what it could not carry over."""

    new_dir: Path
    written: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sources: int = 0

    @property
    def ok(self) -> bool:
        """True when the new site loads without a problem."""
        return not self.problems

    def lines(self) -> Iterator[str]:
        """The report as printable lines."""
        yield f"imported into {self.new_dir}: {self.sources} source definitions"
        for name in self.written:
            yield f"  wrote {name}"
        for note in self.not_carried:
            yield f"  not carried over: {note}"
        for problem in self.problems:
            yield f"  check: {problem}"
        yield "check: OK" if self.ok else f"check: {len(self.problems)} problem(s)"


# -- dasflex.conf -----------------------------------------------------------------


def read_conf(path: Path) -> dict[str, str]:
    """``KEY = value`` lines of a dasflex.conf (``#`` comments, quotes, ``%(KEY)s``)."""
    values: dict[str, str] = {}
    for raw in _read_text(path).splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("[") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    for key, value in values.items():
        values[key] = _INTERPOLATION.sub(lambda m: values.get(m.group("name"), m.group(0)), value)
    return values


def _read_text(path: Path) -> str:
    """A text file as str: UTF-8 (with or without BOM), else Latin-1; LF line ends."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(str(path), None, f"cannot read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _find_conf(old_dir: Path) -> Path | None:
    for candidate in (old_dir / "etc" / "dasflex.conf", old_dir / "dasflex.conf"):
        if candidate.is_file():
            return candidate
    return None


def _old_file(old_dir: Path, value: str) -> Path | None:
    """A path named in the old conf, found as given or relative to the old site."""
    named = Path(value)
    candidates = [named] if named.is_absolute() else [old_dir / named]
    candidates += [old_dir / "etc" / named.name, old_dir / named.name]
    return next((c for c in candidates if c.exists()), None)


# -- the import ---------------------------------------------------------------------


def import_site(old_dir: Path | str, new_dir: Path | str, *, overwrite: bool = False) -> ImportReport:
    """Turn the predecessor site ``old_dir`` into a dasflex site in ``new_dir``."""
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    if not old_dir.is_dir():
        raise DefinitionError(str(old_dir), None, "the old site directory does not exist")
    if new_dir.exists() and any(new_dir.iterdir()) and not overwrite:
        raise DefinitionError(str(new_dir), None, "the new site directory is not empty "
                              "(use --force to write into it)")
    (new_dir / "site").mkdir(parents=True, exist_ok=True)
    report = ImportReport(new_dir)
    conf_path = _find_conf(old_dir)
    conf = read_conf(conf_path) if conf_path else {}
    if conf_path is None:
        report.not_carried.append("no dasflex.conf found: default settings written")
    _import_sources(old_dir, new_dir / "site", conf, report)
    settings = _settings_from_conf(conf, report)
    settings.update(_import_files(old_dir, new_dir, conf, report))
    _import_commands(old_dir, new_dir / "site", conf, report)
    _write_settings(new_dir / "dasflex.toml", settings, report)
    _check(new_dir, report)
    return report


def _settings_from_conf(conf: Mapping[str, str], report: ImportReport) -> dict[str, Any]:
    settings: dict[str, Any] = {"site_dir": "site"}
    for key, value in conf.items():
        if key in CONF_TO_SETTINGS:
            name = CONF_TO_SETTINGS[key]
            if name in ("hapi_enabled", "ignore_redirect"):
                settings[name] = value.lower() in _TRUE_WORDS
            elif name == "allow_from":
                settings[name] = _networks(value, report)
            elif name == "sample_source":
                settings[name] = value.removesuffix(".dsdf")
            else:
                settings[name] = value
        elif key in _OBSOLETE_KEYS:
            report.not_carried.append(f"{key}: {_OBSOLETE_KEYS[key]}")
        elif key not in _FILE_KEYS and key not in ("PREFIX",):
            report.not_carried.append(f"{key}: no dasflex setting (see docs/migration.md)")
    return settings


def _networks(text: str, report: ImportReport) -> str:
    """ALLOW_TEST_FROM as explicit CIDR ranges (a bare address means that one host)."""
    kept = []
    for word in text.split():
        try:
            kept.append(str(ipaddress.ip_network(word, strict=False)))
        except ValueError:
            report.not_carried.append(f"ALLOW_TEST_FROM: '{word}' is not an address range")
    return " ".join(kept)


def _write_settings(path: Path, settings: Mapping[str, Any], report: ImportReport) -> None:
    lines = ["# dasflex settings written by `dasflex import`; see `dasflex serve --help`.",
             "[dasflex]"]
    for name, value in settings.items():
        lines.append(f"{name} = {_toml_value(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report.written.append(path.name)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value))


def _check(new_dir: Path, report: ImportReport) -> None:
    try:
        load_settings(new_dir / "dasflex.toml", environ={})
    except DasFlexError as exc:
        report.problems.append(str(exc))
    scanned = scan_site(new_dir / "site")
    report.sources = len(scanned.site)
    report.problems.extend(str(problem) for problem in scanned.problems)


# -- source definitions ----------------------------------------------------------------


def _dsdf_root(old_dir: Path) -> Path:
    for name in ("datasets", "dsdf", "sources"):
        if (old_dir / name).is_dir():
            return old_dir / name
    return old_dir


def _dsdf_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).parts
        if path.suffix.lower() == ".dsdf" and path.is_file() and relative[0] not in ("etc", "catalog"):
            yield path


def _import_sources(old_dir: Path, site: Path, conf: Mapping[str, str], report: ImportReport) -> None:
    root = _dsdf_root(old_dir)
    for path in _dsdf_files(root):
        text = _read_text(path)
        target = site / _target_name(root, path, text)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_normalised_dsdf(text, conf, path.name, report), encoding="utf-8")
        report.written.append(target.relative_to(site.parent).as_posix())


def _target_name(root: Path, path: Path, text: str) -> Path:
    """Where a DSDF goes: its ``localId`` when it has one, else its place below the root."""
    match = re.search(r"^\s*localId\s*=\s*['\"]?([A-Za-z0-9_./-]+)", text, re.MULTILINE)
    local_id = match.group(1).strip("/") if match else None
    if path.name.lower() == "_dirinfo_.dsdf":
        folder = Path(local_id) if local_id else path.relative_to(root).parent
        return folder / "_dirinfo_.dsdf"
    return Path(local_id + ".dsdf") if local_id else path.relative_to(root)


def _normalised_dsdf(text: str, conf: Mapping[str, str], name: str, report: ImportReport) -> str:
    """UTF-8, LF, trailing blanks stripped, config ``$(VARS)`` expanded, localId dropped."""
    def expand(match: re.Match[str]) -> str:
        return conf.get(match.group("name"), match.group(0))

    lines = []
    for line in text.splitlines():
        if re.match(r"\s*localId\s*=", line):
            continue
        line = _VARIABLE.sub(expand, line.rstrip())
        if re.match(r"\s*reader\s*=", line) and _SHELL_CHARACTERS.search(line.split(";", 1)[0]):
            report.not_carried.append(f"{name}: the reader uses shell syntax; dasflex runs argv "
                                      "without a shell, wrap it in a script")
        lines.append(line)
    return "\n".join(lines) + "\n"


# -- users, groups, peers, logo ---------------------------------------------------------


def _import_files(old_dir: Path, new_dir: Path, conf: Mapping[str, str],
                  report: ImportReport) -> dict[str, str]:
    settings: dict[str, str] = {}
    sources = {
        "users_file": _old_file(old_dir, conf.get("USER_PASSWD", "passwd")),
        "groups_file": _old_file(old_dir, conf.get("USER_GROUP", "group")),
        "peers_file": _old_file(old_dir, conf.get("PEERS_FILE", "das2peers.ini")),
    }
    users = sources["users_file"]
    if users is not None and users.is_file():
        kept = _import_users(users, new_dir / "users", report)
        if kept:
            settings["users_file"] = "users"
    groups = sources["groups_file"]
    if groups is not None and groups.is_file():
        _import_groups(groups, new_dir / "groups", report)
        settings["groups_file"] = "groups"
    peers = sources["peers_file"]
    if peers is not None and peers.is_file():
        shutil.copyfile(peers, new_dir / "peers.ini")
        report.written.append("peers.ini")
        settings["peers_file"] = "peers.ini"
    logo = _find_logo(old_dir, conf)
    if logo is not None:
        shutil.copyfile(logo, new_dir / logo.name)
        report.written.append(logo.name)
        settings["logo_file"] = logo.name
    return settings


def _import_users(path: Path, target: Path, report: ImportReport) -> int:
    kept = []
    for line in _read_text(path).splitlines():
        name, _, entry = line.strip().partition(":")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = entry.split(":", 1)[0]
        scheme = hash_scheme(entry)
        if (name, entry[:2]) == _DES_DEFAULT_ACCOUNT:
            report.not_carried.append(f"user '{name}': the predecessor's shipped test account")
        elif scheme == "unknown":
            report.not_carried.append(f"user '{name}': unsupported password hash; set it again "
                                      "with `dasflex passwd`")
        else:
            if scheme == "des-crypt":
                note = "" if legacy_crypt_available() else " (refused on this Python: no crypt module)"
                report.not_carried.append(f"user '{name}': weak DES crypt hash kept{note}; "
                                          "set it again with `dasflex passwd`")
            kept.append(f"{name}:{entry}")
    if kept:
        target.write_text("\n".join(kept) + "\n", encoding="utf-8")
        report.written.append(target.name)
    return len(kept)


def _import_groups(path: Path, target: Path, report: ImportReport) -> None:
    lines = []
    for line in _read_text(path).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.strip().split(":")
        members = fields[3] if len(fields) >= 4 else fields[-1] if len(fields) == 2 else ""
        users = [u.strip() for u in members.split(",") if u.strip() and u.strip() != "testuser"]
        lines.append(f"{fields[0].strip()}: {', '.join(users)}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report.written.append(target.name)


def _find_logo(old_dir: Path, conf: Mapping[str, str]) -> Path | None:
    resources = _old_file(old_dir, conf["RESOURCE_PATH"]) if "RESOURCE_PATH" in conf else None
    for folder in (resources, old_dir / "static"):
        if folder is not None and folder.is_dir():
            found = sorted(folder.glob("logo.*"))
            if found:
                return found[0]
    return None


# -- commands ------------------------------------------------------------------------------


def _import_commands(old_dir: Path, site: Path, conf: Mapping[str, str], report: ImportReport) -> None:
    commands: dict[str, Any] = {}
    for path in (old_dir / "etc" / "commands.json", old_dir / "commands.json"):
        if path.is_file():
            commands.update(_old_commands(path, report))
            break
    if conf.get("DAS_TO_PNG"):
        commands["site_png"] = {
            "role": "formatter", "title": "PNG image (DAS_TO_PNG)",
            "template": f"{conf['DAS_TO_PNG']} #[format.width#-w @#] #[format.height#-h @#]",
            "input": "das2/2.2/binary", "output": "png", "order": 60, "cost": 2}
    reducer = conf.get("D2S_REDUCER", "")
    if reducer and Path(reducer.split()[0]).name != "das2_bin_avgsec":
        report.not_carried.append(f"D2S_REDUCER={reducer}: add it as a reducer in site/_commands.json")
    if not commands:
        return
    table = {"$comment": "Custom commands imported from the predecessor's configuration.",
             "commands": commands}
    target = site / "_commands.json"
    target.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    try:
        load_command_table(target)
    except DasFlexError as exc:
        target.unlink()
        report.not_carried.append(f"custom commands: {exc}")
        return
    report.written.append("site/_commands.json")


def _old_commands(path: Path, report: ImportReport) -> dict[str, Any]:
    """The entries of a predecessor ``commands.json`` that map onto dasflex commands."""
    try:
        document = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        report.not_carried.append(f"{path.name}: not JSON ({exc.msg})")
        return {}
    entries = document.get("commands", document) if isinstance(document, dict) else document
    items = entries.items() if isinstance(entries, dict) else enumerate(entries or [])
    converted = {}
    for key, entry in items:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(entry.get("name", key) if isinstance(entry, dict) else key))
        command = _old_command(entry) if isinstance(entry, dict) else None
        if command is None:
            report.not_carried.append(f"command '{name}': no template, or a role/MIME type "
                                      "dasflex does not know")
        else:
            converted[f"site_{name}".replace("site_site_", "site_")] = command
    return converted


def _old_command(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    template = entry.get("template") or entry.get("command")
    role = _OLD_ROLES.get(str(entry.get("role", "")), str(entry.get("role", "")))
    output = _MIME_TO_STREAM.get(str(entry.get("output", "")))
    if not isinstance(template, str) or role not in set(_OLD_ROLES.values()) or output is None:
        return None
    command: dict[str, Any] = {"role": role, "template": template, "output": output}
    source = _MIME_TO_STREAM.get(str(entry.get("input", "")))
    if role != "cache_reader":
        if source is None:
            return None
        command["input"] = source
        if role in ("reducer", "transform"):
            command["output"] = "*"
    trigger = entry.get("trigger")
    if isinstance(trigger, str) and trigger:
        command["activation"] = [{"key": trigger}]
    elif isinstance(trigger, dict) and "key" in trigger:
        command["activation"] = [{"key": str(trigger["key"]), **(
            {"value": str(trigger["value"])} if "value" in trigger else {})}]
    if entry.get("title"):
        command["title"] = str(entry["title"])
    return command
