"""The names of the query keys and request conventions, for Python code to use.

``commands/builtin.json`` declares what each key means (its type, range and
title, under ``params``) and how each convention renames keys (under
``conventions``); this module only names them, so that no module spells a
key as a string literal.  A test checks that every name here is declared in
``builtin.json`` and the other way round.

Examples
--------
>>> READ_TIME_MIN, BIN_TIME_MAX
('read.time.min', 'bin.time.max')
>>> FLEX in CONVENTIONS
True
"""

from __future__ import annotations

__all__ = [
    "BIN_TIME_MAX",
    "CONVENTIONS",
    "DAS2",
    "DFT_LENGTH",
    "DFT_SLIDE",
    "FLEX",
    "FLEX_RT",
    "FORMAT_DELIM",
    "FORMAT_HEADERS",
    "FORMAT_HEIGHT",
    "FORMAT_SECFRAC",
    "FORMAT_SERIAL",
    "FORMAT_SIGDIGIT",
    "FORMAT_STYLE",
    "FORMAT_TYPE",
    "FORMAT_VERSION",
    "FORMAT_WIDTH",
    "HAPI",
    "HAPI_INCLUDE",
    "HAPI_PARAMS",
    "QUERY_KEYS",
    "READ_OPTS",
    "READ_TIME_INTERVAL",
    "READ_TIME_MAX",
    "READ_TIME_MIN",
]

# -- query keys (the flex convention's names) -------------------------------

#: First time to read (ISO 8601, UTC).
READ_TIME_MIN = "read.time.min"
#: Time to read up to (ISO 8601, UTC).
READ_TIME_MAX = "read.time.max"
#: Seconds between records, for readers that compute values (ephemerides).
READ_TIME_INTERVAL = "read.time.inter"
#: Reader options (a DSDF's ``param_NN`` flags, a cache level's parameters).
READ_OPTS = "read.opts"
#: Widest time bin to average into, in seconds (0: no reduction).
BIN_TIME_MAX = "bin.time.max"
#: DFT length of a power spectral density (activates the PSD transform).
DFT_LENGTH = "dft.length"
#: DFT slide denominator.
DFT_SLIDE = "dft.slide"
#: Output format family (``das``, ``csv``, ``png``...).
FORMAT_TYPE = "format.type"
#: Output format version (``2``, ``3``...).
FORMAT_VERSION = "format.version"
#: Output serialisation (``binary``, ``text``...).
FORMAT_SERIAL = "format.serial"
#: Output layout within a format (``plain``: CSV with one header row and ISO times).
FORMAT_STYLE = "format.style"
#: Digits of fractional seconds in text output.
FORMAT_SECFRAC = "format.secfrac"
#: Significant digits of values in text output.
FORMAT_SIGDIGIT = "format.sigdigit"
#: CSV delimiter.
FORMAT_DELIM = "format.delim"
#: CSV header rows.
FORMAT_HEADERS = "format.headers"
#: Image width in pixels.
FORMAT_WIDTH = "format.width"
#: Image height in pixels.
FORMAT_HEIGHT = "format.height"
#: HAPI parameter names, comma separated.
HAPI_PARAMS = "hapi.params"
#: HAPI header inclusion.
HAPI_INCLUDE = "hapi.include"

#: Every key above, as ``builtin.json`` declares them.
QUERY_KEYS = frozenset({
    READ_TIME_MIN, READ_TIME_MAX, READ_TIME_INTERVAL, READ_OPTS, BIN_TIME_MAX,
    DFT_LENGTH, DFT_SLIDE, FORMAT_TYPE, FORMAT_VERSION, FORMAT_SERIAL, FORMAT_STYLE, FORMAT_SECFRAC,
    FORMAT_SIGDIGIT, FORMAT_DELIM, FORMAT_HEADERS, FORMAT_WIDTH, FORMAT_HEIGHT,
    HAPI_PARAMS, HAPI_INCLUDE,
})

# -- request conventions (query dialects) ---------------------------------

#: das2.2 server keys (``start_time``, ``end_time``, ``resolution``...).
DAS2 = "das2"
#: The native das3 keys above (no renaming).
FLEX = "flex"
#: The native keys, for real-time (WebSocket) streams.
FLEX_RT = "flexRT"
#: HAPI keys (``start``, ``stop``, ``parameters``...).
HAPI = "hapi"

#: The request conventions a source can be reached through.
CONVENTIONS = (DAS2, FLEX, FLEX_RT, HAPI)
