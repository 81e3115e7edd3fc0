"""A CDF file written in bounded memory: cdflib for the structure, chunked data.

cdflib writes a variable's data in one call, from one in-memory array.  To
keep memory flat whatever the stream size, :class:`ChunkedCdf` lets cdflib
write the file skeleton (CDR, GDR, variable descriptors and attributes) and
appends the record data itself: values are buffered per variable and, every
``chunk_bytes``, written at the end of the file as one Variable Values Record
(VVR) indexed by a Variable indeX Record (VXR) entry.  VXRs hold
:data:`VXR_ENTRIES` entries and are chained through their ``VXRnext`` field,
as the CDF internal format allows.  Record counts (``MaxRec``) are set when
the file is finished.

All CDF internal-record fields are big-endian; values are written
little-endian (the file uses IBMPC encoding).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from cdflib.cdfwrite import CDF

from dasflex_core.tools.cdf.types import CDF_DOUBLE, CDF_FLOAT, CDF_INT8, CDF_TIME_TT2000

#: numpy dtype (little-endian) of each CDF data type.
NUMPY_TYPES: dict[int, np.dtype] = {CDF_INT8: np.dtype("<i8"), CDF_FLOAT: np.dtype("<f4"),
               CDF_DOUBLE: np.dtype("<f8"), CDF_TIME_TT2000: np.dtype("<i8")}
#: Entries per Variable indeX Record.
VXR_ENTRIES = 32
#: Bytes buffered per variable before they are written as one VVR.
DEFAULT_CHUNK_BYTES = 4 << 20

_IBMPC_ENCODING = 6
_VXR_TYPE = 6
_VVR_TYPE = 7
_VXR_HEAD_BYTES = 28
_VVR_HEAD_BYTES = 12
_VDR_MAXREC = 24
_VDR_VXRHEAD = 28
_VDR_VXRTAIL = 36
_VXR_NEXT = 12
_VXR_USED = 24


@dataclass(slots=True)
class _VariableState:
    """Where one record-varying variable's data go, and what is pending."""

    vdr_offset: int
    dtype: np.dtype
    record_shape: tuple[int, ...]
    pending: list[np.ndarray] = field(default_factory=list)
    pending_bytes: int = 0
    records_written: int = 0
    vxr_offset: int = 0
    vxr_used: int = VXR_ENTRIES


class ChunkedCdf:
    """A CDF being written: define variables, append records, then :meth:`close`."""

    def __init__(self, path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        self.path = Path(path)
        self._cdf = CDF(self.path, cdf_spec={"Majority": "row_major",
                                             "Encoding": _IBMPC_ENCODING}, delete=True)
        self._chunk_bytes = chunk_bytes
        self._variables: dict[str, _VariableState] = {}

    def define(self, name: str, cdf_type: int, dims: tuple[int, ...],
               attributes: dict[str, Any]) -> None:
        """Define a record-varying zVariable (its data come through :meth:`append`)."""
        spec = {"Variable": name, "Data_Type": cdf_type, "Num_Elements": 1, "Rec_Vary": True,
                "Dim_Sizes": list(dims), "Compress": 0}
        self._cdf.write_var(spec, var_attrs=attributes, var_data=None)
        number = self._cdf.zvars.index(name)
        offset = self._cdf.zvarsinfo[number][1]
        self._variables[name] = _VariableState(offset, NUMPY_TYPES[cdf_type], dims)

    def define_constant(self, name: str, cdf_type: int, values: np.ndarray,
                        attributes: dict[str, Any]) -> None:
        """Define a non-record-varying zVariable holding ``values`` (e.g. yTags)."""
        data = np.ascontiguousarray(values, dtype=NUMPY_TYPES[cdf_type])
        spec = {"Variable": name, "Data_Type": cdf_type, "Num_Elements": 1, "Rec_Vary": False,
                "Dim_Sizes": list(data.shape), "Compress": 0}
        self._cdf.write_var(spec, var_attrs=attributes, var_data=data[np.newaxis])

    def append(self, name: str, values: np.ndarray) -> None:
        """Queue records for ``name``; write them once enough are pending."""
        state = self._variables[name]
        data = np.ascontiguousarray(values, dtype=state.dtype)
        if data.shape[1:] != state.record_shape:
            raise ValueError(f"records of {name} have shape {data.shape[1:]}, "
                             f"expected {state.record_shape}")
        if not len(data):
            return
        state.pending.append(data)
        state.pending_bytes += data.nbytes
        if state.pending_bytes >= self._chunk_bytes:
            self._flush(state)

    def records(self, name: str) -> int:
        """Records written or queued so far for ``name``."""
        state = self._variables[name]
        return state.records_written + sum(len(part) for part in state.pending)

    def write_variable_attributes(self, attributes: dict[str, dict[str, Any]]) -> None:
        """Add attributes to defined variables (``{variable: {attribute: value}}``)."""
        by_attribute: dict[str, dict[str, Any]] = {}
        for variable, values in attributes.items():
            for name, value in values.items():
                by_attribute.setdefault(name, {})[variable] = value
        if by_attribute:
            self._cdf.write_variableattrs(by_attribute)

    def write_global_attributes(self, attributes: dict[str, Any]) -> None:
        """Write global attributes (one entry each)."""
        if attributes:
            self._cdf.write_globalattrs({name: {0: value} for name, value in attributes.items()})

    def close(self) -> None:
        """Write what is pending, set the record counts and finish the file."""
        for state in self._variables.values():
            self._flush(state)
        with self.path.open("rb+") as file:
            for state in self._variables.values():
                _put(file, state.vdr_offset + _VDR_MAXREC, ">i", state.records_written - 1)
        self._cdf.close()

    def _flush(self, state: _VariableState) -> None:
        if not state.pending:
            return
        pieces, size = state.pending, state.pending_bytes
        state.pending = []
        state.pending_bytes = 0
        first = state.records_written
        last = first + sum(len(piece) for piece in pieces) - 1
        with self.path.open("rb+") as file:
            file.seek(0, 2)
            vvr_offset = file.tell()
            file.write(struct.pack(">qi", _VVR_HEAD_BYTES + size, _VVR_TYPE))
            for piece in pieces:
                file.write(piece.tobytes() if not piece.flags.c_contiguous
                           else piece.data.cast("B"))
            if state.vxr_used == VXR_ENTRIES:
                self._new_vxr(file, state)
            _add_vxr_entry(file, state.vxr_offset, state.vxr_used, first, last, vvr_offset)
        state.vxr_used += 1
        state.records_written = last + 1

    @staticmethod
    def _new_vxr(file: BinaryIO, state: _VariableState) -> None:
        """Append an empty VXR and link it after the variable's last one."""
        file.seek(0, 2)
        offset = file.tell()
        size = _VXR_HEAD_BYTES + 16 * VXR_ENTRIES
        file.write(struct.pack(">qiqii", size, _VXR_TYPE, 0, VXR_ENTRIES, 0))
        file.write(struct.pack(f">{2 * VXR_ENTRIES}i", *([-1] * 2 * VXR_ENTRIES)))
        file.write(struct.pack(f">{VXR_ENTRIES}q", *([-1] * VXR_ENTRIES)))
        if state.vxr_offset:
            _put(file, state.vxr_offset + _VXR_NEXT, ">q", offset)
        else:
            _put(file, state.vdr_offset + _VDR_VXRHEAD, ">q", offset)
        _put(file, state.vdr_offset + _VDR_VXRTAIL, ">q", offset)
        state.vxr_offset = offset
        state.vxr_used = 0


def _add_vxr_entry(file: BinaryIO, vxr: int, entry: int, first: int, last: int,
                   vvr_offset: int) -> None:
    base = vxr + _VXR_HEAD_BYTES
    _put(file, base + 4 * entry, ">i", first)
    _put(file, base + 4 * VXR_ENTRIES + 4 * entry, ">i", last)
    _put(file, base + 8 * VXR_ENTRIES + 8 * entry, ">q", vvr_offset)
    _put(file, vxr + _VXR_USED, ">i", entry + 1)


def _put(file: BinaryIO, offset: int, form: str, value: int) -> None:
    file.seek(offset)
    file.write(struct.pack(form, value))
