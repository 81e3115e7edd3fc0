"""Property edits in das2C's storage order, so that re-written headers match.

das2C keeps a descriptor's properties in one array of slots.  Setting a
property re-uses its slot (even one that was removed) when the new value
fits in the slot's bytes; otherwise the old slot is dropped and the
property is appended.  Removing only marks the slot invalid.  The order of
properties in headers written by das2C tools follows from these rules, and
:class:`SlotProperties` replays them on top of our :class:`Properties`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dasflex_core.codecs.das2_props import Properties, Property

_SLOT_OVERHEAD = 16
_SLOT_MINIMUM = 20


def slot_size(name: str, value: str) -> int:
    """Bytes das2C allocates for a property (header + both strings + nulls)."""
    size = _SLOT_OVERHEAD + len(name.encode()) + 1 + len(value.encode()) + 1
    return max(size, _SLOT_MINIMUM)


@dataclass(slots=True)
class _Slot:
    item: Property
    capacity: int
    valid: bool = True


class SlotProperties:
    """A property list edited with das2C's slot semantics."""

    def __init__(self, props: Properties) -> None:
        self._slots = [_Slot(item, slot_size(item.name, item.text)) for item in props]

    def has(self, name: str) -> bool:
        """True when a valid property ``name`` exists."""
        return any(slot.valid and slot.item.name == name for slot in self._slots)

    def get(self, name: str) -> Property | None:
        """The valid property ``name`` or None."""
        for slot in self._slots:
            if slot.valid and slot.item.name == name:
                return slot.item
        return None

    def remove(self, name: str) -> None:
        """Mark ``name`` invalid (its slot stays and may be re-used)."""
        for slot in self._slots:
            if slot.item.name == name:
                slot.valid = False
                return

    def set(self, name: str, text: str, kind: str = "", stored: str | None = None) -> None:
        """Set ``name``; ``stored`` is the value as das2C stores it (for the size test).

        For a Datum das2C stores only the number (units apart): pass e.g.
        ``text="60.000000 s"`` and ``stored="60.000000"``.
        """
        need = slot_size(name, text if stored is None else stored)
        item = Property(name, kind, text)
        for slot in self._slots:
            if slot.item.name == name:
                if need <= slot.capacity:
                    slot.item, slot.valid = item, True
                    return
                slot.valid = False
                break
        self._slots = [s for s in self._slots if s.valid or s.item.name != name]
        self._slots.append(_Slot(item, need))

    def set_datum(self, name: str, value: float, units: str) -> None:
        """das2C's ``DasDesc_setDatum`` (``%f``, or ``%e`` beyond 1e10)."""
        number = f"{value:e}" if abs(value) > 1e10 else f"{value:f}"
        self.set(name, f"{number} {units}" if units else number, "Datum", stored=number)

    def to_properties(self) -> Properties:
        """The valid properties in slot order."""
        return Properties(slot.item for slot in self._slots if slot.valid)
