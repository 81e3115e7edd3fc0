"""Everything clients fetch about a site's sources, built from the model.

:func:`build_files` returns every catalog file by its path below the server
root, with ``BASE`` the server's external base URL:

* ``das2list.txt`` (``?server=list``), ``root.json``, ``catalog.json``, ``nodes.csv``;
* ``source/<dir>.json``: a Catalog node per directory (ids lower-cased);
* ``source/<id>.json``: the SourceSet node of a source;
* ``source/<id>/flex.json``: HttpStreamSrc v0.7 (``BASE/source/<id>/flex``);
* ``source/<id>/das2py.json``: the older snake_case HttpStreamSrc layout that
  das2py reads (das2 query keys, ``BASE/source/<id>/das2``);
* ``source/<id>/flexRT.json``: WebSockSrc v0.1 for real-time sources;
* ``source/<id>/das2.d2t``: the DSDF as a das2 stream header (``?server=dsdf``).

Only public metadata goes in: never commands, templates or file paths.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from dasflex_core import keys
from dasflex_core.commands import builtin_commands
from dasflex_core.commands.outputs import OutputFormat, OutputLister, by_type, type_title
from dasflex_core.model import (
    Directory,
    Example,
    Param,
    ParamType,
    Site,
    SourceDef,
)
from dasflex_core.xmltext import quote_attribute

WEBSOCKET_SUBPROTOCOL = "forward-stream-v1.das2.org"
NODE_MIME = "application/json"
D2T_MIME = "text/vnd.das2.das2stream"
SEPARATOR = "/"
ROOT_TITLE = "Local Root Catalog"

#: Interface property names of the time parameters (v0.7 and das2py layouts).
_TIME_PROPS = {
    keys.READ_TIME_MIN: ("min", "minimum"), keys.READ_TIME_MAX: ("max", "maximum"),
    keys.BIN_TIME_MAX: ("res", "resolution"), keys.READ_TIME_INTERVAL: ("int", "interval"),
}


@cache
def _das2_names() -> Mapping[str, str]:
    """The das2-convention name of each flex key, for the das2py node.

    Read from the built-in das2 convention: the first das2 key renamed to a
    flex key, leaving out keys whose values are renamed too (``ascii``).
    """
    table = builtin_commands()
    value_mapped = table.value_maps.get(keys.DAS2, {})
    names: dict[str, str] = {}
    for das2_key, flex_key in table.conventions[keys.DAS2].translate.items():
        if flex_key is not None and das2_key not in value_mapped:
            names.setdefault(flex_key, das2_key)
    return names


@dataclass(frozen=True, slots=True)
class Urls:
    """Where things live on the server, from its external base URL."""

    base: str
    websocket: str

    @classmethod
    def from_base(cls, base_url: str, websocket_url: str | None = None) -> Urls:
        base = base_url.rstrip("/")
        if websocket_url is None:
            scheme, sep, rest = base.partition("://")
            websocket_url = f"{'wss' if scheme == 'https' else 'ws'}{sep}{rest}" if sep else base
        return cls(base, websocket_url.rstrip("/"))

    def node(self, node_id: str) -> str:
        """A Catalog or SourceSet node (``node_id`` empty: the root)."""
        return f"{self.base}/source/{node_id.lower()}.json" if node_id else f"{self.base}/root.json"

    def source_file(self, source_id: str, name: str) -> str:
        return f"{self.base}/source/{source_id.lower()}/{name}"

    def data(self, source_id: str, convention: str) -> str:
        return f"{self.base}/source/{source_id.lower()}/{convention}"

    def realtime(self, source_id: str) -> str:
        return f"{self.websocket}/source/{source_id.lower()}/flexRT"


# ----------------------------------------------------------------------------- das2 list and d2t

def visible_sources(site: Site) -> list[SourceDef]:
    """Sources that are listed (not hidden), in id order."""
    return [source for source in site if not source.hidden]


def das2_list(site: Site, *, discovery: bool = False) -> str:
    """``?server=list`` text: ``DIR/|title`` and ``ID|title`` lines, sorted.

    With ``discovery`` only sources that have examples are listed (das2.2 ICD).
    """
    lines: dict[str, str] = {}
    sources = [s for s in visible_sources(site) if s.examples or not discovery]
    for source in sources:
        parts = source.id.split("/")
        for depth in range(1, len(parts)):
            dir_id = "/".join(parts[:depth])
            directory = site.directories.get(dir_id) or Directory(dir_id)
            lines[dir_id + "/"] = directory.title
        lines[source.id] = source.title
    return "".join(f"{key}|{_one_line(title)}\n" for key, title in sorted(lines.items()))


def dsdf_stream(source: SourceDef) -> bytes:
    """The ``das2.d2t`` header: ``[00]`` + byte length + the public DSDF keys as properties."""
    attributes = "".join(f"\n    {_property_name(key)}={quote_attribute(value)}"
                         for key, value in source.das2_properties if _property_name(key))
    xml = f'<stream version="2.2">\n  <properties{attributes}\n  />\n</stream>\n'
    body = xml.encode("utf-8")
    return b"[00]%06d" % len(body) + body


def _property_name(key: str) -> str:
    """A DSDF key as a das2 property name (letters, digits and ``_`` only)."""
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in key)
    return cleaned if cleaned[:1].isalpha() else ""


def _one_line(text: str) -> str:
    return " ".join(text.replace("|", "/").split())


# ----------------------------------------------------------------------------- HttpStreamSrc v0.7

def _param_json(param: Param) -> dict[str, Any]:
    """One ``httpParams`` entry (v0.7 camelCase)."""
    entry: dict[str, Any] = {"required": param.required, "type": param.type.value}
    for key, value in (("label", param.label), ("title", param.title), ("units", param.units)):
        if value:
            entry[key] = value
    if param.range:
        entry["range"] = list(param.range)
    if param.enum:
        entry["enum"] = [e.value for e in param.enum]
    if param.type is ParamType.FLAGSET:
        entry["flagSep"] = param.flag_sep
        entry["flags"] = {f.key: _drop_empty({"value": f.value, "title": f.title}) for f in param.flags}
    if param.default is not None:
        entry["default"] = param.default
    return entry


def _drop_empty(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in ("", None)}


def _authorization(source: SourceDef) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The ``authorization`` object and ``authentications`` list of a protocol."""
    access = source.access
    if access is None or not access.rules:
        return {"required": False}, []
    notes = []
    for rule in access.rules:
        if rule.method == "AGE":
            notes.append(f"data older than {rule.value} are public")
        else:
            notes.append(f"{rule.method.lower()} {rule.value} may read")
    authorization = _drop_empty({"required": True, "contact": access.contact,
                                 "description": "; ".join(notes)})
    return authorization, [{"method": "HTTP/Basic", "realm": access.realm}]


def _time_group(source: SourceDef) -> dict[str, Any]:
    props = {}
    order = []
    for key, (name, _snake) in _TIME_PROPS.items():
        param = source.param(key)
        if param is None:
            continue
        props[name] = _drop_empty({"label": param.label or name, "title": param.title,
                                   "type": param.type.value, "value": None,
                                   "units": param.units, "set": {"param": key}})
        props[name]["value"] = None
        order.append(name)
    group: dict[str, Any] = {"label": "Time", "title": "Time coordinate", "props": props,
                             "order": order}
    if source.valid_range:
        group["validRange"] = list(source.valid_range)
    return group


def _variable_groups(source: SourceDef) -> tuple[dict[str, Any], dict[str, Any]]:
    """``interface.coords`` and ``interface.data`` property groups."""
    coords: dict[str, Any] = {}
    if source.param(keys.READ_TIME_MIN):
        coords["time"] = _time_group(source)
    for variable in source.coords:
        group = coords.setdefault(variable.name, {"props": {}})
        group.setdefault("label", variable.title or variable.name)
        if variable.units:
            group["props"].setdefault("units", {"label": "Units", "value": variable.units})
    data = {v.name: {"label": v.title or v.name,
                     "props": {"units": {"label": "Units", "value": v.units}} if v.units else {}}
            for v in source.data}
    return coords, data


def _option_props(source: SourceDef) -> dict[str, Any]:
    """Settable properties of the parameters that are not time coordinates."""
    props: dict[str, Any] = {}
    for param in source.params:
        if param.key in _TIME_PROPS:
            continue
        if param.type is ParamType.FLAGSET:
            for flag in param.flags:
                props[flag.key] = _drop_empty({
                    "label": flag.value, "title": flag.title, "type": "boolean", "value": False,
                    "set": {"param": param.key, "flag": flag.key, "value": True}})
                props[flag.key]["value"] = False
            continue
        name = param.key.replace(".", "_")
        props[name] = _drop_empty({"label": param.label or param.key, "title": param.title,
                                   "type": param.type.value, "units": param.units,
                                   "value": param.default, "set": {"param": param.key}})
        props[name].setdefault("value", None)
    return props


def _formats(outputs: Sequence[OutputFormat]) -> dict[str, Any]:
    """``interface.formats``: one entry per ``format.type`` the planner can produce.

    The first type (das) is the default; every other type has an ``enabled``
    switch (one of the ``format`` xorGroup); a type with several versions,
    serialisations or styles gets an enum property per key that varies.
    """
    formats: dict[str, Any] = {}
    for number, (kind, members) in enumerate(by_type(outputs).items()):
        props: dict[str, Any] = {}
        if number:
            props["enabled"] = {"label": type_title(kind, members), "type": "boolean",
                                "value": False, "xorGroup": "format",
                                "set": {"param": keys.FORMAT_TYPE, "value": True, "pval": kind}}
        for prop, key, attribute in _FORMAT_PROPS:
            values = list(dict.fromkeys(getattr(m, attribute) for m in members))
            if len(values) > 1:
                props[prop] = {"label": prop.capitalize() if prop != "serial" else "Encoding",
                               "type": "enum", "value": _choice(kind, values[0]),
                               "set": {"param": key, "enum": [
                                   {"value": _choice(kind, value), "pval": value}
                                   for value in values]}}
        formats[kind] = {"label": type_title(kind, members), "props": props,
                         "mimeTypes": list(dict.fromkeys(m.mime for m in members))}
    return formats


#: (interface property, query key, OutputFormat attribute) of the keys that select an output.
_FORMAT_PROPS = (("version", keys.FORMAT_VERSION, "version"),
                 ("serial", keys.FORMAT_SERIAL, "serial"), ("style", keys.FORMAT_STYLE, "style"))


def _choice(kind: str, value: str) -> str:
    """How an enum choice is named: ``das2`` for das version 2, ``default`` for no style."""
    if not value:
        return "default"
    return f"{kind}{value}" if value.isdigit() else value


def _example_settings(source: SourceDef, example: Example) -> dict[str, Any]:
    """Example settings as interface property paths (``coords/time/props/min``...)."""
    settings: dict[str, Any] = {}
    options = source.param(keys.READ_OPTS)
    for key, value in example.settings.items():
        if key in _TIME_PROPS:
            settings[f"coords/time/props/{_TIME_PROPS[key][0]}"] = value
        elif key == keys.READ_OPTS and options and options.type is ParamType.FLAGSET:
            words = value.split(options.flag_sep or " ")
            for flag in options.flags:
                if flag.value in words:
                    settings[f"options/props/{flag.key}"] = True
        else:
            settings[f"options/props/{key.replace('.', '_')}"] = value
    return settings


def http_stream_src(source: SourceDef, urls: Urls,
                    outputs: Sequence[OutputFormat]) -> dict[str, Any]:
    """The HttpStreamSrc v0.7 node (``flex.json``) offering the source's ``outputs``."""
    authorization, authentications = _authorization(source)
    protocol: dict[str, Any] = {
        "method": "GET",
        "convention": "flex",
        "baseUrls": [urls.data(source.id, "flex")],
        "authorization": authorization,
        "httpParams": {p.key: _param_json(p) for p in source.params},
    }
    if authentications:
        protocol["authentications"] = authentications
    coords, data = _variable_groups(source)
    interface: dict[str, Any] = {"coords": coords, "data": data,
                                 "options": {"label": "Options", "props": _option_props(source)},
                                 "formats": _formats(outputs),
                                 "examples": [{"label": e.label, "settings": _example_settings(source, e)}
                                              for e in source.examples]}
    interface.update(copy.deepcopy(dict(source.interface or {})))
    return _drop_empty({
        "type": "HttpStreamSrc",
        "version": "0.7",
        "label": source.id.rsplit("/", 1)[-1],
        "title": source.title,
        "description": source.summary,
        "contacts": [_drop_empty({"type": c.role, "name": c.name, "email": c.email})
                     for c in source.contacts],
        "protocol": protocol,
        "interface": interface,
    })


def websock_src(source: SourceDef, urls: Urls,
                outputs: Sequence[OutputFormat]) -> dict[str, Any]:
    """The WebSockSrc v0.1 node (``flexRT.json``) of a real-time source."""
    node = http_stream_src(source, urls, outputs)
    node["type"] = "WebSockSrc"
    node["version"] = "0.1"
    protocol = node["protocol"]
    protocol.pop("method", None)
    protocol["convention"] = "flexRT"
    protocol["subprotocols"] = [WEBSOCKET_SUBPROTOCOL]
    protocol["baseUrls"] = [urls.realtime(source.id)]
    return node


# ----------------------------------------------------------------------------- das2py (snake_case)

def _das2_key(key: str) -> str:
    return _das2_names().get(key, key)


def _snake_param(param: Param) -> dict[str, Any]:
    entry = _drop_empty({"required": param.required, "title": param.title or param.label,
                         "units": param.units})
    entry["required"] = param.required
    if param.type is ParamType.FLAGSET:
        entry["type"] = "flag_set"
        entry["flag_sep"] = param.flag_sep
        entry["flags"] = {f.key: _drop_empty({"value": f.value, "title": f.title}) for f in param.flags}
    else:
        entry["type"] = param.type.value
    if param.range:
        entry["range"] = list(param.range)
    if param.enum:
        entry["values"] = {e.value: _drop_empty({"value": e.value, "title": e.title or e.label})
                           for e in param.enum}
    return entry


def _snake_example(example: Example) -> dict[str, Any]:
    return {"title": example.label,
            "http_params": {_das2_key(k): v for k, v in example.settings.items()}}


def _snake_interface(source: SourceDef) -> dict[str, Any]:
    """``coordinates``/``data``/``options`` with ``value`` and ``set`` per aspect."""
    latest = source.examples[-1].settings if source.examples else {}
    time: dict[str, Any] = {}
    for key, (_short, aspect) in _TIME_PROPS.items():
        param = source.param(key)
        if param is not None:
            default = "0" if key == keys.BIN_TIME_MAX else latest.get(key, "")
            time[aspect] = _drop_empty({"title": param.title, "units": param.units,
                                        "value": _number_or_text(default, param),
                                        "set": {"param": _das2_key(key)}})
    options: dict[str, Any] = {}
    for param in source.params:
        if param.key in _TIME_PROPS:
            continue
        if param.type is ParamType.FLAGSET:
            for flag in param.flags:
                options[flag.key] = {"title": flag.title or flag.value, "value": False,
                                     "set": {"param": _das2_key(param.key), "flag": flag.key,
                                             "value": True}}
        else:
            options[param.key.replace(".", "_")] = {
                "title": param.title or param.key, "value": param.default or "",
                "set": {"param": _das2_key(param.key)}}
    data = {v.name: {"units": {"value": v.units}} for v in source.data if v.units}
    return {"coordinates": {"time": time} if time else {}, "data": data, "options": options}


def _number_or_text(text: str, param: Param) -> Any:
    if param.type in (ParamType.REAL, ParamType.INTEGER):
        try:
            return float(text) if param.type is ParamType.REAL else int(text)
        except ValueError:
            return text
    return text


def das2py_stream_src(source: SourceDef, urls: Urls) -> dict[str, Any]:
    """The snake_case HttpStreamSrc layout das2py's ``get_source().get()`` reads."""
    authorization, authentications = _authorization(source)
    protocol: dict[str, Any] = {
        "method": "GET",
        "base_urls": [urls.data(source.id, "das2")],
        "authorization": authorization,
        "http_params": {_das2_key(p.key): _snake_param(p) for p in source.params},
        "examples": {f"example_{i:02d}": _snake_example(e) for i, e in enumerate(source.examples)},
    }
    if authentications:
        protocol["authentications"] = authentications
    return _drop_empty({
        "type": "HttpStreamSrc",
        "version": "0.5",
        "name": source.id.rsplit("/", 1)[-1],
        "title": source.title,
        "description": source.summary,
        "protocol": protocol,
        "interface": _snake_interface(source),
    })


# ----------------------------------------------------------------------------- SourceSet and Catalog

def _stub(kind: str, name: str, title: str, mime: str, urls: list[str],
          provides: tuple[str, ...] = ()) -> dict[str, Any]:
    stub = {"type": kind, "name": name, "label": name, "purpose": "primary-stream",
            "description": title, "mime": mime, "urls": urls}
    if provides:
        stub["provides"] = list(provides)
    return stub


def source_set(source: SourceDef, urls: Urls,
               outputs: Sequence[OutputFormat]) -> dict[str, Any]:
    """The SourceSet node: the source's metadata and its interface nodes.

    Each interface ``provides`` the MIME types of the source's ``outputs``
    (:meth:`~dasflex_core.planner.Planner.output_formats`).
    """
    provides = tuple(dict.fromkeys(output.mime for output in outputs))
    catalog = {
        "flex": _stub("HttpStreamSrc", "flex", "das3 (flex) query interface", NODE_MIME,
                      [urls.source_file(source.id, "flex.json")], provides),
        "das2py": _stub("HttpStreamSrc", "das2py", "das2 query interface (das2py layout)",
                        NODE_MIME, [urls.source_file(source.id, "das2py.json")], provides),
        "das2": _stub("Das2DSDF", "das2", "das2.2 source definition as a stream header",
                      D2T_MIME, [urls.source_file(source.id, "das2.d2t")]),
    }
    if source.realtime:
        catalog["flexRT"] = _stub("WebSockSrc", "flexRT", "real-time websocket interface", NODE_MIME,
                                  [urls.source_file(source.id, "flexRT.json")], provides)
    return _drop_empty({
        "type": "SourceSet",
        "version": "0.1",
        "label": source.id.rsplit("/", 1)[-1],
        "title": source.title,
        "description": source.summary,
        "coords": {v.name: _drop_empty({"title": v.title, "units": v.units}) for v in source.coords},
        "data": {v.name: _drop_empty({"title": v.title, "units": v.units}) for v in source.data},
        "contacts": [_drop_empty({"type": c.role, "name": c.name, "email": c.email})
                     for c in source.contacts],
        "catalog": catalog,
    })


def _children(site: Site, dir_id: str) -> tuple[list[str], list[SourceDef]]:
    """Direct subdirectory ids and sources of ``dir_id`` ("" for the root)."""
    prefix = f"{dir_id}/" if dir_id else ""
    depth = prefix.count("/") + 1
    subdirs = sorted({s.id.split("/")[depth - 1] for s in visible_sources(site)
                      if s.id.startswith(prefix) and s.id.count("/") >= depth})
    sources = [s for s in visible_sources(site) if s.id.startswith(prefix) and s.id.count("/") == depth - 1]
    return [prefix + name for name in subdirs], sources


def catalog_node(site: Site, dir_id: str, urls: Urls, *, title: str = "") -> dict[str, Any]:
    """A Catalog node listing a directory's subdirectories and sources."""
    subdirs, sources = _children(site, dir_id)
    entries: dict[str, Any] = {}
    for sub_id in subdirs:
        directory = site.directories.get(sub_id) or Directory(sub_id)
        name = sub_id.rsplit("/", 1)[-1]
        entries[name.lower()] = _drop_empty({"type": "Catalog", "name": name, "label": name,
                                             "title": directory.title, "urls": [urls.node(sub_id)]})
    for source in sources:
        name = source.id.rsplit("/", 1)[-1]
        entries[name.lower()] = {"type": "SourceSet", "name": name, "label": name,
                                 "title": source.title, "urls": [urls.node(source.id)]}
    directory = site.directories.get(dir_id) or Directory(dir_id)
    return _drop_empty({
        "type": "Catalog",
        "version": "0.5",
        "label": dir_id.rsplit("/", 1)[-1] if dir_id else "Sources",
        "title": title or directory.title,
        "description": directory.summary,
        "separator": SEPARATOR,
        "catalog": entries,
    })


def root_node(site: Site, urls: Urls, *, title: str = "") -> dict[str, Any]:
    """The root Catalog node (``root.json``); titled by a top-level ``_dirinfo_.dsdf`` if any."""
    root = site.directories.get("") or Directory("")
    return catalog_node(site, "", urls, title=title or root.title or ROOT_TITLE)


def combined_catalog(site: Site, urls: Urls, *, server_name: str = "dasflex",
                     outputs: OutputLister) -> dict[str, Any]:
    """The root with every Catalog and SourceSet node expanded in place (``catalog.json``)."""
    return _expanded(site, "", urls, outputs, title=f"Combined {server_name} Server Catalog")


def _expanded(site: Site, dir_id: str, urls: Urls, outputs: OutputLister, *,
              title: str = "") -> dict[str, Any]:
    node = catalog_node(site, dir_id, urls, title=title)
    prefix = f"{dir_id}/" if dir_id else ""
    for key, entry in node.get("catalog", {}).items():
        child_id = prefix + entry["name"]
        if entry["type"] == "Catalog":
            child = _expanded(site, child_id, urls, outputs)
        else:
            source = site.get(child_id)
            child = source_set(source, urls, outputs(source)) if source else {}
        node["catalog"][key] = {**child, "name": entry["name"], "urls": entry["urls"]}
    return node


def _node_rows(site: Site, urls: Urls, outputs: OutputLister) -> Iterator[list[str]]:
    yield ["", "Catalog", root_node(site, urls)["title"], urls.node(""), NODE_MIME]
    dir_ids = sorted({"/".join(s.id.split("/")[:d]) for s in visible_sources(site)
                      for d in range(1, s.id.count("/") + 1)})
    for dir_id in dir_ids:
        directory = site.directories.get(dir_id) or Directory(dir_id)
        yield [dir_id, "Catalog", directory.title, urls.node(dir_id), NODE_MIME]
    for source in visible_sources(site):
        yield [source.id, "SourceSet", source.title, urls.node(source.id), NODE_MIME]
        for name, stub in source_set(source, urls, outputs(source))["catalog"].items():
            yield [f"{source.id}/{name}", stub["type"], stub["description"], stub["urls"][0],
                   stub["mime"], *stub.get("provides", [])]


def nodes_csv(site: Site, urls: Urls, outputs: OutputLister) -> str:
    """Every node, one CSV row each: LocalID, Type, Title, URL, Item-MIME, Provides-MIME..."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["LocalID", "Type", "Title", "URL", "Item-MIME", "Provides-MIME"])
    writer.writerows(_node_rows(site, urls, outputs))
    return out.getvalue()


# ----------------------------------------------------------------------------- all files

def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def source_files(source: SourceDef, urls: Urls,
                 outputs: Sequence[OutputFormat]) -> dict[str, str | bytes]:
    """The files of one source: its SourceSet node and its directory's nodes."""
    path = f"source/{source.id.lower()}"
    files: dict[str, str | bytes] = {
        f"{path}.json": _json(source_set(source, urls, outputs)),
        f"{path}/flex.json": _json(http_stream_src(source, urls, outputs)),
        f"{path}/das2py.json": _json(das2py_stream_src(source, urls)),
        f"{path}/das2.d2t": dsdf_stream(source),
    }
    if source.realtime:
        files[f"{path}/flexRT.json"] = _json(websock_src(source, urls, outputs))
    return files


def listed_site(site: Site, unlisted: Collection[str] = ()) -> Site:
    """``site`` without the sources whose ids are in ``unlisted`` (for listings only)."""
    if not unlisted:
        return site
    kept = {key: source for key, source in site.sources.items() if source.id not in unlisted}
    return Site(site.root, kept, site.directories, site.commands)


def build_files(site: Site, base_url: str, outputs: OutputLister, *,
                websocket_url: str | None = None,
                server_name: str = "dasflex",
                unlisted: Collection[str] = ()) -> dict[str, str | bytes]:
    """Every catalog file by its path below the server root (see the module docstring).

    Sources in ``unlisted`` (protected ones a client may not read) are left
    out of every listing (the das2 list, the Catalog nodes, ``catalog.json``
    and ``nodes.csv``); their own files are still built, for clients that
    know the id (their ``authorization`` block says to authenticate).
    ``flex.json`` lists the formats ``outputs`` gives for each source (the
    planner's, :meth:`~dasflex_core.planner.Planner.output_formats`).
    """
    urls = Urls.from_base(base_url, websocket_url)
    listed = listed_site(site, unlisted)
    files: dict[str, str | bytes] = {
        "das2list.txt": das2_list(listed),
        "root.json": _json(root_node(listed, urls)),
        "catalog.json": _json(combined_catalog(listed, urls, server_name=server_name,
                                               outputs=outputs)),
        "nodes.csv": nodes_csv(listed, urls, outputs),
    }
    for row in _node_rows(listed, urls, outputs):
        if row[1] == "Catalog" and row[0]:
            files[f"source/{row[0].lower()}.json"] = _json(catalog_node(listed, row[0], urls))
    for source in site:
        files.update(source_files(source, urls, outputs(source)))
    return files
