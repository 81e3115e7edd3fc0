"""The ``#[...]`` command template language, rendered to argv lists.

A template is text such as ``das2_ascii -c #[format.secfrac # -s @ #]``.
Outside a directive, blanks separate argv elements.  A directive is
``#[SELECTOR # if-present # if-absent]``:

* ``#[KEY]`` inserts the value of ``KEY``, which is required;
* ``#[KEY # text]`` inserts ``text`` (``@`` stands for the value); ``KEY`` is
  required and a missing one is a :class:`~dasflex_core.errors.QueryError`;
* ``#[KEY # text #]`` and ``#[KEY # text # other]`` make ``KEY`` optional:
  when it is absent the if-absent text (possibly empty) is used;
* a present but empty value renders nothing, whatever the if-present text;
* ``KEY(SEP|SUBKEY|VALSEP)`` selects part of a value: the value is split on
  ``SEP`` (a substring search when ``SEP`` is empty) and the chunk starting
  with ``SUBKEY`` is found; with ``VALSEP`` the text after it is the value,
  otherwise the chunk itself is (a flag).

Templates are compiled once, at load time, by :func:`compile_template`, and
rendered per request by :meth:`Template.render`.  A value always lands inside
one argv element: it is never split on its blanks, and no shell ever sees it.
Values are checked and normalised beforehand by :func:`normalise_value`.

Examples
--------
>>> template = compile_template("das2_ascii -c #[format.secfrac # -s @ #]")
>>> template.render({"format.secfrac": "3"})
['das2_ascii', '-c', '-s', '3']
>>> template.render({})
['das2_ascii', '-c']
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from dasflex_core.dastime import parse_time
from dasflex_core.errors import DefinitionError, QueryError, TimeError

__all__ = [
    "PREDEFINED_KEYS",
    "Directive",
    "SubSelector",
    "Template",
    "compile_template",
    "normalise_value",
]

#: Keys that the server itself supplies to every template.
PREDEFINED_KEYS = frozenset({"_SERVER_", "_LOCAL_ID_", "_FILENAME_"})

#: Largest value (in characters) any query parameter may have.
MAX_VALUE_LENGTH = 4096
#: Default largest length of a ``string`` parameter.
DEFAULT_STRING_LENGTH = 256
#: Default pattern of ``string`` parameters: no quotes, no shell syntax.
DEFAULT_STRING_PATTERN = r"[A-Za-z0-9 _.,:=+\-/@]*"

_SELECTOR_PATTERN = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.:\-]*)\s*(?:\((?P<sub>[^()]*)\))?"
)
_REAL_PATTERN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER_PATTERN = re.compile(r"[+-]?\d+")
_TIME_PATTERN = re.compile(r"[0-9A-Za-z:.,/()_ +\-]{1,64}")


@dataclass(frozen=True, slots=True)
class SubSelector:
    """The ``(SEP|SUBKEY|VALSEP)`` part of a selector."""

    separator: str
    subkey: str
    value_separator: str | None

    def select(self, value: str) -> str | None:
        """Return the selected part of ``value``, or None when it is absent."""
        if self.separator:
            chunks: Iterable[str] = value.split(self.separator)
        else:
            start = value.find(self.subkey)
            chunks = [value[start:]] if start >= 0 else []
        for chunk in chunks:
            if not chunk.startswith(self.subkey):
                continue
            if self.value_separator is None:
                return self.subkey
            rest = chunk[len(self.subkey):]
            if rest.startswith(self.value_separator):
                return self._value_after(rest[len(self.value_separator):])
        return None

    def _value_after(self, text: str) -> str:
        """The sub-value: the whole chunk rest, or its first word without SEP."""
        if self.separator:
            return text
        words = text.split()
        return words[0] if words else ""


# A token is a sequence of parts glued together: literal text, the value
# placeholder ``@`` (inside if-present texts) or a directive.
Part = Union[str, "ValueSlot", "Directive"]
Token = tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ValueSlot:
    """The ``@`` placeholder of an if-present text."""


_VALUE = ValueSlot()


@dataclass(frozen=True, slots=True)
class Directive:
    """One ``#[SELECTOR # if-present # if-absent]`` directive.

    ``present`` is None for ``#[KEY]`` (insert the value); ``absent`` is None
    when the key is required.
    """

    key: str
    sub: SubSelector | None
    present: tuple[Token, ...] | None
    absent: tuple[Token, ...] | None

    @property
    def required(self) -> bool:
        """True when a missing key is an error."""
        return self.absent is None

    def render(self, values: Mapping[str, str]) -> list[str]:
        """Render to a list of words (possibly empty)."""
        value = values.get(self.key)
        if value is not None and self.sub is not None:
            value = self.sub.select(value)
        if value is None:
            if self.absent is None:
                raise QueryError(f"Missing query parameter '{self.key}'")
            return _render_tokens(self.absent, values, None)
        if value == "":
            return []
        if self.present is None:
            return [value]
        return _render_tokens(self.present, values, value)


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled command template; :meth:`render` gives the argv list."""

    text: str
    tokens: tuple[Token, ...]

    @property
    def keys(self) -> frozenset[str]:
        """Every key the template refers to."""
        return frozenset(d.key for d in _directives(self.tokens))

    @property
    def required_keys(self) -> frozenset[str]:
        """The keys without which the template cannot be rendered."""
        return frozenset(d.key for d in _directives(self.tokens) if d.required)

    def render(self, values: Mapping[str, str]) -> list[str]:
        """Render to argv; each value stays within one element.

        Raises
        ------
        QueryError
            When a required key is missing from ``values``.
        """
        return _render_tokens(self.tokens, values, None)


def compile_template(text: str | Sequence[str], path: str = "template",
                     where: str | None = None) -> Template:
    """Parse a template (a string, or a list of strings joined by blanks).

    Raises
    ------
    DefinitionError
        On unbalanced brackets, bad selectors or nested directives; ``path``
        and ``where`` (e.g. a source id and a command name) locate it.
    """
    source = text if isinstance(text, str) else " ".join(text)
    context = _Context(path, where)
    if not source.strip():
        raise context.error("the command template is empty")
    tokens = _parse_tokens(source, context, allow_value=False)
    return Template(source, tokens)


@dataclass(frozen=True, slots=True)
class _Context:
    """Where a template comes from, for error messages."""

    path: str
    where: str | None

    def error(self, reason: str) -> DefinitionError:
        return DefinitionError(self.path, self.where, reason)


def _parse_tokens(text: str, where: _Context, allow_value: bool) -> tuple[Token, ...]:
    """Split text into tokens at blanks outside directives."""
    tokens: list[Token] = []
    current: list[Part] = []
    literal: list[str] = []
    position = 0

    def flush_literal() -> None:
        if literal:
            current.append("".join(literal))
            literal.clear()

    while position < len(text):
        char = text[position]
        if text.startswith("#[", position):
            end = text.find("]", position)
            if end < 0:
                raise where.error(f"unterminated '#[' at character {position}")
            flush_literal()
            current.append(_parse_directive(text[position + 2:end], where))
            position = end + 1
            continue
        if char.isspace():
            flush_literal()
            if current:
                tokens.append(tuple(current))
                current = []
        elif char == "@" and allow_value:
            flush_literal()
            current.append(_VALUE)
        elif char == "]":
            raise where.error(f"stray '{char}' at character {position}")
        else:
            literal.append(char)
        position += 1
    flush_literal()
    if current:
        tokens.append(tuple(current))
    return tuple(tokens)


def _parse_directive(body: str, where: _Context) -> Directive:
    """Parse what lies between ``#[`` and ``]``."""
    if "#[" in body:
        raise where.error(f"nested directive in '#[{body}]'")
    fields = body.split("#")
    if len(fields) > 3:
        raise where.error(f"too many '#' in '#[{body}]'")
    match = _SELECTOR_PATTERN.fullmatch(fields[0].strip())
    if not match:
        raise where.error(f"bad selector '{fields[0].strip()}' in '#[{body}]'")
    sub = _parse_sub_selector(match.group("sub"), body, where)
    present = _parse_tokens(fields[1], where, allow_value=True) if len(fields) > 1 else None
    absent = _parse_tokens(fields[2], where, allow_value=False) if len(fields) > 2 else None
    return Directive(match.group("key"), sub, present, absent)


def _parse_sub_selector(text: str | None, body: str, where: _Context) -> SubSelector | None:
    """Parse ``SEP|SUBKEY|VALSEP`` (VALSEP optional)."""
    if text is None:
        return None
    fields = text.split("|")
    if len(fields) not in (2, 3) or not fields[1]:
        raise where.error(f"bad sub-selector '({text})' in '#[{body}]': use (SEP|SUBKEY|VALSEP)")
    value_separator = fields[2] if len(fields) == 3 and fields[2] else None
    return SubSelector(fields[0], fields[1], value_separator)


def _render_tokens(
    tokens: tuple[Token, ...], values: Mapping[str, str], value: str | None
) -> list[str]:
    """Render tokens to words; a token that renders empty is dropped."""
    words: list[str] = []
    for token in tokens:
        pieces: list[str] = []
        for part in token:
            if isinstance(part, str):
                _glue(pieces, [part])
            elif isinstance(part, ValueSlot):
                _glue(pieces, [value or ""])
            else:
                _glue(pieces, part.render(values))
        words.extend(piece for piece in pieces if piece)
    return words


def _glue(pieces: list[str], words: list[str]) -> None:
    """Append words, gluing the first one to the current last piece."""
    if not words:
        return
    if pieces:
        pieces[-1] += words[0]
        pieces.extend(words[1:])
    else:
        pieces.extend(words)


def _directives(tokens: Iterable[Token]) -> Iterable[Directive]:
    """Every directive in tokens, depth first."""
    for token in tokens:
        for part in token:
            if isinstance(part, Directive):
                yield part
                yield from _directives(part.present or ())
                yield from _directives(part.absent or ())


# --------------------------------------------------------------------------
# Value validation


def normalise_value(name: str, value: str, param: Any) -> str:
    """Check a query value against its parameter and return its normal form.

    ``param`` describes the parameter: its ``type`` (``isotime``, ``real``,
    ``integer``, ``enum``, ``flagset``, ``boolean`` or ``string``, a string
    or an enum whose ``value`` is one of these) and, as the type needs,
    ``choices`` (enum values or known flags), ``minimum``/``maximum``,
    ``pattern`` and ``max_length``.  Missing attributes take safe defaults.

    Raises
    ------
    QueryError
        Naming the parameter, when the value does not fit.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> normalise_value("bin.time.max", "60", SimpleNamespace(type="real"))
    '60'
    """
    _check_text(name, value)
    kind = _type_name(param)
    checker = _CHECKERS.get(kind)
    if checker is None:
        raise QueryError(f"Parameter '{name}' has an unsupported type '{kind}'")
    return checker(name, value, param)


def _type_name(param: Any) -> str:
    """The lower-case type name of a parameter description."""
    kind = getattr(param, "type", "string")
    kind = getattr(kind, "value", kind)
    return str(kind).lower()


def _check_text(name: str, value: str) -> None:
    """Refuse over-long values and control characters."""
    if len(value) > MAX_VALUE_LENGTH:
        raise QueryError(f"Parameter '{name}' is too long ({len(value)} characters)")
    for char in value:
        if char < " " or char == "\x7f" or unicodedata.category(char) in ("Cc", "Cs"):
            raise QueryError(f"Parameter '{name}' contains a control character")


def _check_isotime(name: str, value: str, param: Any) -> str:
    """Parse a time (das2C parsetime forms and ISO 8601); return its ISO form."""
    if not _TIME_PATTERN.fullmatch(value):
        raise QueryError(f"Parameter '{name}' is not a valid time: {value[:64]!r}")
    try:
        parsed = parse_time(value.strip())
    except (TimeError, ValueError, OverflowError) as exc:
        raise QueryError(f"Parameter '{name}' is not a valid time: {value[:64]!r}") from exc
    return _format_iso(parsed)


def _format_iso(parsed: Any) -> str:
    """Format what ``parse_time`` returns (a DasTime or a datetime) as ISO 8601."""
    normalized = getattr(parsed, "normalized", None)
    if callable(normalized):
        parsed = normalized()
    isoformat = getattr(parsed, "isoformat", None)
    text = str(isoformat()) if callable(isoformat) else str(parsed)
    text = text.rstrip("Z")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _check_real(name: str, value: str, param: Any) -> str:
    """A finite real number within the parameter's bounds."""
    text = value.strip()
    if not _REAL_PATTERN.fullmatch(text) or not math.isfinite(number := float(text)):
        raise QueryError(f"Parameter '{name}' must be a real number, not {value[:64]!r}")
    _check_bounds(name, number, param)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def _check_integer(name: str, value: str, param: Any) -> str:
    """An integer within the parameter's bounds."""
    text = value.strip()
    if not _INTEGER_PATTERN.fullmatch(text) or len(text) > 20:
        raise QueryError(f"Parameter '{name}' must be an integer, not {value[:64]!r}")
    number = int(text)
    _check_bounds(name, number, param)
    return str(number)


def _check_bounds(name: str, number: float, param: Any) -> None:
    """Refuse numbers outside ``param.minimum``..``param.maximum``."""
    minimum = getattr(param, "minimum", None)
    maximum = getattr(param, "maximum", None)
    if minimum is not None and number < minimum:
        raise QueryError(f"Parameter '{name}' must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise QueryError(f"Parameter '{name}' must be at most {maximum}")


def _choices(param: Any) -> tuple[str, ...]:
    """The allowed values or flags of a parameter."""
    for attribute in ("choices", "values", "flags", "enum"):
        found = getattr(param, attribute, None)
        if found:
            return tuple(getattr(item, "value", item) if not isinstance(item, str) else item
                         for item in found)
    return ()


def _check_enum(name: str, value: str, param: Any) -> str:
    """One of the parameter's listed values."""
    choices = _choices(param)
    if value not in choices:
        listed = ", ".join(choices[:12])
        raise QueryError(f"Parameter '{name}' must be one of: {listed}")
    return value


def _check_flagset(name: str, value: str, param: Any) -> str:
    """Blank-separated flags, each a known one; normalised to single blanks."""
    known = set(_choices(param))
    separator = getattr(param, "separator", None) or None
    flags = value.split(separator) if separator else value.split()
    for flag in flags:
        if flag and flag not in known:
            raise QueryError(f"Parameter '{name}' has an unknown flag {flag[:64]!r}")
    return (separator or " ").join(flag for flag in flags if flag)


def _check_boolean(name: str, value: str, param: Any) -> str:
    """true/false (also 1/0, yes/no) normalised to ``true``/``false``."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return "true"
    if lowered in ("false", "0", "no", "off"):
        return "false"
    raise QueryError(f"Parameter '{name}' must be true or false")


def _check_string(name: str, value: str, param: Any) -> str:
    """Text matching the parameter's pattern, within its maximum length."""
    max_length = getattr(param, "max_length", None) or DEFAULT_STRING_LENGTH
    if len(value) > max_length:
        raise QueryError(f"Parameter '{name}' is longer than {max_length} characters")
    pattern = getattr(param, "pattern", None) or DEFAULT_STRING_PATTERN
    if not re.fullmatch(pattern, value):
        raise QueryError(f"Parameter '{name}' contains characters that are not allowed")
    return value


_CHECKERS = {
    "isotime": _check_isotime,
    "time": _check_isotime,
    "real": _check_real,
    "double": _check_real,
    "integer": _check_integer,
    "enum": _check_enum,
    "flagset": _check_flagset,
    "boolean": _check_boolean,
    "string": _check_string,
}
