"""HTML pages: the home page, directory listings and a request form per source.

Everything taken from a definition or a request is escaped.  A form is a
plain GET form whose action is the source's ``flex`` URL; empty fields are
ignored by the data route and the flags of a FlagSet may be sent as repeated
keys, so the browser's own URL is one the server accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from dasflex_core.commands.outputs import OutputFormat, by_type, type_title
from dasflex_core.errors import NotFoundError
from dasflex_core.http import MIME_HTML, Request, Response, error_response, text_response
from dasflex_core.keys import (
    FORMAT_HEIGHT,
    FORMAT_SERIAL,
    FORMAT_STYLE,
    FORMAT_TYPE,
    FORMAT_VERSION,
    FORMAT_WIDTH,
    READ_TIME_MAX,
    READ_TIME_MIN,
)
from dasflex_core.protocols import Server, nodes, site_planner
from dasflex_core.protocols.admin import COVERAGE_SIZE, coverage_link

if TYPE_CHECKING:
    from dasflex_core.model import Param, SourceDef

#: The keys after ``format.type`` that select an output, in the order the form
#: shows them, with the :class:`~dasflex_core.commands.outputs.OutputFormat` attribute
#: each one selects.
_FORMAT_ATTRIBUTES = ((FORMAT_VERSION, "version"), (FORMAT_SERIAL, "serial"),
                      (FORMAT_STYLE, "style"))
#: Format menus: ``(key, ((value, label), ...))`` per key.
FormatMenus = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

#: Width and height in pixels of the quick-look PNG on a request form.
PREVIEW_SIZE = (640, 360)

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    "td,th{padding:0.2em 0.8em;text-align:left}fieldset{margin:1em 0}"
    "label{display:inline-block;min-width:12em}"
)


def page(title: str, body: str, site_title: str, base_url: str) -> str:
    """A complete page with the site chrome (``body`` is already HTML)."""
    site = escape(site_title)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)} - {site}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n<p><a href=\"{escape(base_url)}/\">{site}</a></p>\n<h1>{escape(title)}</h1>\n"
        f"{body}\n</body></html>\n"
    )


def _respond(request: Request, server: Server, title: str, body: str) -> Response:
    text = page(title, body, server.settings.site_title, server.base_url(request))
    return text_response(text, mime=MIME_HTML)


def source_url(server: Server, request: Request, source: SourceDef, leaf: str) -> str:
    """``<base>/source/<id lower>/<leaf>``."""
    return f"{server.base_url(request)}/source/{source.id.lower()}/{leaf}"


def home(server: Server, request: Request) -> Response:
    """The home page: what the server offers and example queries."""
    base = server.base_url(request)
    sample = _sample_source(server)
    links = [
        (f"{base}/source/", "browse the data sources"),
        (f"{base}/?server=list", "das2 source list (?server=list)"),
        (f"{base}/catalog.json", "combined catalog (catalog.json)"),
        (f"{base}/root.json", "root catalog node (root.json)"),
        (f"{base}/nodes.csv", "all catalog nodes (nodes.csv)"),
    ]
    if server.settings.hapi_enabled:
        links.append((f"{base}/hapi", "HAPI 3.3 server"))
    if sample is not None:
        links += _sample_links(server, request, sample)
    items = "".join(f'<li><a href="{escape(url)}">{escape(text)}</a></li>' for url, text in links)
    body = (
        "<p>This server streams das2, das3 and HAPI data from "
        f"{len(server.site)} data sources.</p>\n<ul>{items}</ul>"
    )
    return _respond(request, server, "dasflex data server", body)


def _sample_source(server: Server) -> SourceDef | None:
    named = server.site.get(server.settings.sample_source) if server.settings.sample_source else None
    if named is not None:
        return named
    return next((s for s in server.site if s.examples and not s.protected and not s.hidden), None)


def _sample_links(server: Server, request: Request, source: SourceDef) -> list[tuple[str, str]]:
    base = server.base_url(request)
    settings = source.examples[0].settings if source.examples else {}
    begin, end = settings.get(READ_TIME_MIN, ""), settings.get(READ_TIME_MAX, "")
    legacy = urlencode({"server": "dataset", "dataset": source.id,
                        "start_time": begin, "end_time": end})
    return [
        (f"{base}/?{urlencode({'server': 'dsdf', 'dataset': source.id})}",
         f"definition of {source.id} (?server=dsdf)"),
        (f"{base}/?{legacy}", f"{source.id} data (?server=dataset)"),
        (f"{source_url(server, request, source, 'flex')}?{urlencode(dict(settings))}",
         f"{source.id} data (flex)"),
    ]


def listing(server: Server, request: Request, dir_path: str) -> Response:
    """A directory of the catalog: its subdirectories and sources, for people and wget."""
    try:
        prefix = dir_path.strip("/")
        directories, sources = _children(server, prefix, nodes.unlisted_ids(server, request))
        if prefix and not directories and not sources:
            raise NotFoundError("no such catalog directory")
        rows = [_directory_row(name, title) for name, title in directories]
        rows += [_source_row(server, request, source) for source in sources]
        table = ("<table><tr><th>name</th><th>title</th><th>files</th></tr>"
                 + "".join(rows) + "</table>")
        up = '<p><a href="../">parent directory</a></p>' if prefix else ""
        return _respond(request, server, f"Index of /source/{prefix}", up + table)
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, "html")


def _children(server: Server, prefix: str,
              unlisted: frozenset[str]) -> tuple[list[tuple[str, str]], list[SourceDef]]:
    """Subdirectories and sources below ``prefix``, without hidden and ``unlisted`` sources."""
    lowered = prefix.lower()
    depth = lowered.count("/") + 1 if lowered else 0
    directories: dict[str, str] = {}
    sources = []
    for source in server.site:
        parts = source.id.split("/")
        if ("/".join(parts[:depth]).lower() != lowered or source.hidden
                or source.id in unlisted):
            continue
        if len(parts) == depth + 1:
            sources.append(source)
        elif len(parts) > depth + 1:
            child = "/".join(parts[: depth + 1])
            info = server.site.directory(child)
            directories[parts[depth]] = info.title if info else ""
    return sorted(directories.items()), sources


def _directory_row(name: str, title: str) -> str:
    link = escape(name.lower()) + "/"
    return f'<tr><td><a href="{link}">{escape(name)}/</a></td><td>{escape(title)}</td><td></td></tr>'


def _source_row(server: Server, request: Request, source: SourceDef) -> str:
    name = source.id.rsplit("/", 1)[-1]
    leaf = escape(name.lower())
    files = " ".join(
        f'<a href="{leaf}/{file}">{file}</a>' for file in ("flex.json", "das2.d2t"))
    return (f'<tr><td><a href="{leaf}.html">{escape(name)}</a></td>'
            f"<td>{escape(source.title)}</td><td>{files}</td></tr>")


def form(server: Server, request: Request, source_path: str) -> Response:
    """The request form of one source."""
    try:
        source = server.source(source_path)
        action = source_url(server, request, source, "flex")
        parts = [f"<p>{escape(source.summary or source.title)}</p>"]
        if source.protected:
            parts.append("<p><strong>This source needs a user name and password.</strong></p>")
        parts.append(_preview(source, action))
        parts.append(_coverage(server, request, source))
        parts.append(_examples(source, action))
        fields = "".join(_param_field(param) for param in source.params)
        parts.append(
            f'<form method="get" action="{escape(action)}">'
            f"<fieldset><legend>Query</legend>{fields}</fieldset>"
            f"<fieldset><legend>Format</legend>{_format_fields(_outputs(server, request, source))}"
            "</fieldset>"
            '<p><button type="submit">Download</button></p></form>'
        )
        return _respond(request, server, source.title or source.id, "\n".join(parts))
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, "html")


def preview_url(source: SourceDef, action: str) -> str | None:
    """The flex URL of a PNG quick look at the source's first example, if it has one."""
    if not source.examples or source.reader is None or source.redirect:
        return None
    settings = dict(source.examples[0].settings)
    settings.update({FORMAT_TYPE: "png", FORMAT_WIDTH: str(PREVIEW_SIZE[0]),
                     FORMAT_HEIGHT: str(PREVIEW_SIZE[1])})
    return f"{action}?{urlencode(settings)}"


def _preview(source: SourceDef, action: str) -> str:
    url = preview_url(source, action)
    if url is None:
        return ""
    label = escape(source.examples[0].label or "first example")
    return (f'<figure><img src="{escape(url)}" alt="quick look: {label}" loading="lazy" '
            f'width="{PREVIEW_SIZE[0]}" height="{PREVIEW_SIZE[1]}">'
            f"<figcaption>Quick look: {label}</figcaption></figure>")


def _coverage(server: Server, request: Request, source: SourceDef) -> str:
    url = coverage_link(source, server.base_url(request))
    if url is None:
        return ""
    return (f'<figure><img src="{escape(url)}" alt="data coverage" loading="lazy" '
            f'width="{COVERAGE_SIZE[0]}" height="{COVERAGE_SIZE[1]}">'
            "<figcaption>Where this source has data</figcaption></figure>")


def _examples(source: SourceDef, action: str) -> str:
    if not source.examples:
        return ""
    items = "".join(
        f'<li><a href="{escape(action)}?{escape(urlencode(dict(example.settings)))}">'
        f"{escape(example.label)}</a></li>" for example in source.examples)
    return f"<h2>Examples</h2><ul>{items}</ul>"


def _param_field(param: Param) -> str:
    key = escape(param.key)
    label = escape(param.label or param.key)
    title = escape(param.title)
    units = f" ({escape(param.units)})" if param.units else ""
    required = " required" if param.required else ""
    kind = str(param.type)
    if kind == "enum" and param.enum:
        options = "".join(
            f'<option value="{escape(choice.value)}">{escape(choice.label or choice.value)}'
            "</option>" for choice in param.enum)
        control = f'<select name="{key}"><option value=""></option>{options}</select>'
    elif kind == "FlagSet" and param.flags:
        control = " ".join(
            f'<label><input type="checkbox" name="{key}" value="{escape(flag.value)}"> '
            f"{escape(flag.title or flag.value)}</label>" for flag in param.flags)
    elif kind == "boolean":
        control = f'<input type="checkbox" name="{key}" value="true">'
    else:
        default = escape(param.default or "")
        control = f'<input type="text" name="{key}" value="{default}"{required}>'
    return f'<p title="{title}"><label>{label}{units}</label> {control}</p>'


def format_choices(outputs: Sequence[OutputFormat]) -> FormatMenus:
    """The form's format menus: ``(key, ((value, label), ...))`` for each key that varies.

    Built from the outputs the planner can produce for the source
    (:meth:`~dasflex_core.planner.Planner.output_formats`); the empty value keeps the
    source's default.
    """
    groups = by_type(outputs)
    menus = [(FORMAT_TYPE, tuple((kind, type_title(kind, members))
                                   for kind, members in groups.items()))]
    for key, attribute in _FORMAT_ATTRIBUTES:
        values = dict.fromkeys(getattr(output, attribute) for output in outputs)
        values.pop("", None)
        if values:
            menus.append((key, tuple((value, _choice_label(attribute, value, outputs))
                                     for value in values)))
    return tuple((key, (("", "source default"), *choices)) for key, choices in menus)


def _choice_label(attribute: str, value: str, outputs: Sequence[OutputFormat]) -> str:
    """``value (types that use it)``, e.g. ``2 (das)`` or ``plain (csv)``."""
    kinds = dict.fromkeys(o.type for o in outputs if getattr(o, attribute) == value)
    return f"{value} ({', '.join(kinds)})"


def _outputs(server: Server, request: Request, source: SourceDef) -> Sequence[OutputFormat]:
    """The outputs of ``source`` with the site's command table."""
    return site_planner(server, request).output_formats(source)


def _format_fields(outputs: Sequence[OutputFormat]) -> str:
    fields = []
    for key, choices in format_choices(outputs):
        options = "".join(f'<option value="{escape(value)}">{escape(label)}</option>'
                          for value, label in choices)
        fields.append(f'<p><label>{key}</label> <select name="{key}">{options}</select></p>')
    return "".join(fields)
