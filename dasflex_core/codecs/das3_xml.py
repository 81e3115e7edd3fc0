"""Serialising das3 headers (``<stream>``, ``<dataset>``) exactly as das2C does.

das2C's writer normalises headers: the dataset ``plot`` attribute becomes the
first ``<p name="plot">`` property, dimensions always carry a ``name``
(default: the physDim), variables always carry ``use``, property text is
trimmed and entity-escaped (``&apos;`` too), and a frame's properties are
indented by five blanks.
"""

from __future__ import annotations

from .das3_model import (
    TERM_ESCAPES,
    Dataset,
    Dimension,
    PacketItems,
    Property3,
    StreamHeader3,
    Values,
    ValueSource,
    Variable,
)

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})
#: Header values per line in ``<values>``, by storage (das2C's layout).
_VALUES_PER_LINE = {"double": 7}
_DEFAULT_VALUES_PER_LINE = 9


def xml_escape(text: str) -> str:
    """Escape the five XML special characters as das2C does."""
    return text.translate(_ESCAPES)


def stream_header_xml(header: StreamHeader3) -> bytes:
    """Serialise a stream header as das2C writes it (leading newline)."""
    lines = [f'\n<stream type="{xml_escape(header.type)}" '
             f'version="{xml_escape(header.version)}" >']
    lines += _properties_xml(header.properties, "  ")
    for frame in header.frames:
        body = f' body="{xml_escape(frame.body)}"' if frame.body else " "
        fixed = ' fixed="true"' if frame.fixed else ""
        lines.append(f'  <frame name="{xml_escape(frame.name)}"{body}{fixed}>')
        lines += _properties_xml(frame.properties, "     ")
        lines.append("  </frame>")
    lines.append("</stream>\n")
    return "\n".join(lines).encode()


def dataset_xml(dataset: Dataset) -> bytes:
    """Serialise a dataset header in das2C's layout (leading newline)."""
    shape = ";".join("*" if size is None else str(size) for size in dataset.shape)
    lines = [f'\n<dataset name="{xml_escape(dataset.name)}" rank="{dataset.rank}" '
             f'index="{shape}" >']
    props = dataset.properties
    if dataset.plot:
        props = (Property3("plot", "string", dataset.plot),) + props
    lines += _properties_xml(props, "  ")
    for dim in dataset.dimensions:
        lines += _dimension_xml(dim)
    lines.append("</dataset>\n")
    return "\n".join(lines).encode()


def _properties_xml(props: tuple[Property3, ...], indent: str) -> list[str]:
    if not props:
        return []
    lines = [f"{indent}<properties>"]
    for prop in props:
        attrs = "" if prop.type == "string" else f' type="{xml_escape(prop.type)}"'
        attrs += f' name="{xml_escape(prop.name)}"'
        if prop.units:
            attrs += f' units="{xml_escape(prop.units)}"'
        if prop.term:
            attrs += f' term="{xml_escape(prop.term)}"'
        lines.append(f"{indent}  <p{attrs}>{xml_escape(prop.text.strip())}</p>")
    lines.append(f"{indent}</properties>")
    return lines


def _dimension_xml(dim: Dimension) -> list[str]:
    attrs = f'physDim="{xml_escape(dim.phys_dim)}" name="{xml_escape(dim.label)}"'
    for name, value in (("axis", dim.axis), ("annotation", dim.annotation),
                        ("frame", dim.frame)):
        if value:
            attrs += f' {name}="{xml_escape(value)}"'
    lines = [f"  <{dim.kind} {attrs}>"]
    lines += _properties_xml(dim.properties, "    ")
    for var in dim.variables:
        lines += _variable_xml(var, dim.frame)
    lines.append(f"  </{dim.kind}>")
    return lines


def _variable_xml(var: Variable, dim_frame: str | None) -> list[str]:
    tag = "vector" if var.is_vector else "scalar"
    attrs = f'components="{var.components}" ' if var.is_vector else ""
    attrs += f'use="{var.use}" semantic="{var.semantic}"'
    if var.storage:
        attrs += f' storage="{xml_escape(var.storage)}"'
    attrs += f' index="{";".join(var.index)}" units="{xml_escape(var.units)}"'
    if var.frame and var.frame != dim_frame:
        attrs += f' frame="{xml_escape(var.frame)}"'
    if var.is_vector:
        attrs += f' system="{xml_escape(var.system or "cartesian")}"'
        order = var.sysorder or ";".join(str(number) for number in range(var.components))
        attrs += f' sysorder="{xml_escape(order)}"'
    lines = [f"    <{tag} {attrs}>"]
    lines += _properties_xml(var.properties, "      ")
    lines += _source_xml(var.source, var.storage)
    lines.append(f"    </{tag}>")
    return lines


def _source_xml(source: ValueSource, storage: str | None) -> list[str]:
    if isinstance(source, PacketItems):
        return [f"      <packet {_packet_attrs(source)} />"]
    if isinstance(source, Values):
        return _values_xml(source, storage)
    lines = []
    for minval, slopes in zip(source.minvals, source.slopes, strict=True):
        interval = ";".join("-" if slope is None else number_text(slope) for slope in slopes)
        lines.append(f'      <sequence minval="{number_text(minval)}" interval="{interval}" />')
    return lines


def _values_xml(source: Values, storage: str | None) -> list[str]:
    per_line = _VALUES_PER_LINE.get(storage or "", _DEFAULT_VALUES_PER_LINE)
    digits = 15 if storage == "double" else 7
    texts = [xml_escape(str(value)) if isinstance(value, str) else f"{value:.{digits}g}"
             for value in source.values.tolist()]
    lines = ["      <values>"]
    for start in range(0, len(texts), per_line):
        lines.append("        " + " ".join(texts[start:start + per_line]))
    lines.append("      </values>")
    return lines


def _packet_attrs(items: PacketItems) -> str:
    num = "*" if items.num_items is None else str(items.num_items)
    width = "*" if items.item_bytes is None else str(items.item_bytes)
    attrs = f'numItems="{num}" itemBytes="{width}" encoding="{items.encoding}"'
    if items.val_term is not None:
        attrs += f' valTerm="{xml_escape(term_text(items.val_term))}"'
    if items.idx_terms:
        text = ",".join(term_text(term) for term in items.idx_terms)
        attrs += f' idxTerm="{xml_escape(text)}"'
    if items.fill is not None:
        attrs += f' fill="{xml_escape(items.fill)}"'
    if not items.trim:
        attrs += ' trim="false"'
    if items.mime:
        attrs += f' mime="{xml_escape(items.mime)}"'
    return attrs


def term_text(term: bytes | None) -> str:
    """A terminator byte as written in a header (``\\n`` spelled out)."""
    if term is None:
        return ""
    for text, value in TERM_ESCAPES.items():
        if value == term:
            return text
    return term.decode()


def number_text(value: float) -> str:
    """A header number: integral values without a fraction, else ``%.15g``."""
    return f"{value:.15g}"
