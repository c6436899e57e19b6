"""Printers (EQ-02): Printer-MIB (RFC 3805) supplies and HOST-RESOURCES-MIB (RFC 2790) state.

``parse_printer(rows)`` takes the walked rows of :data:`oids.PRINTER_COLUMNS` exactly as the
device sent them; ``evaluate_printer`` gives the ``eq.printer`` result. Supply levels use the
RFC 3805 special values: -1 other, -2 unknown, -3 "some remaining" (not measurable but not
empty); a max capacity of -1/-2 makes a level unusable as a ratio.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from checks.equipment import oids
from checks.equipment.profiles import as_int, as_text, columns, device_result
from checks.equipment.snmp_client import Row, SnmpValue
from checks.levels import worst
from checks.messages import kept, msg, written
from checks.model import MAX_PARAM_CHARS, CheckResult, MessageRef, Status, Value

CHECK_ID = "eq.printer"

SOME_REMAINING = -3
LEVEL_UNKNOWN = -2
LEVEL_OTHER = -1

#: prtMarkerSuppliesClass receptacleThatIsFilled(4): waste toner boxes fill up, not empty.
CLASS_RECEPTACLE = 4

#: prtMarkerSuppliesType (RFC 3805 PrtMarkerSuppliesTypeTC) -> short value-name stem.
SUPPLY_TYPES = {
    3: "toner",
    4: "waste_toner",
    5: "ink",
    6: "ink",
    7: "ribbon",
    8: "waste_ink",
    9: "drum",
    10: "developer",
    11: "fuser_oil",
    15: "fuser",
    20: "transfer_unit",
    21: "toner",
    24: "staples",
}
_COLOURS = ("black", "cyan", "magenta", "yellow", "photo", "grey", "gray", "light")

#: hrDeviceStatus (RFC 2790): 1 unknown, 2 running, 3 warning, 4 testing, 5 down.
DEVICE_STATUS = {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
#: What hrDeviceStatus alone says of the printer; a state not listed is OK.
DEVICE_VERDICT = {3: Status.WARN, 4: Status.WARN, 5: Status.FAIL}
#: hrPrinterStatus: 1 other, 2 unknown, 3 idle, 4 printing, 5 warmup.
PRINTER_STATUS = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warming up"}
#: States that say nothing of the printer: hrDeviceStatus unknown(1), hrPrinterStatus
#: other(1) and unknown(2) (and either one missing).
DEVICE_SAYS_NOTHING = frozenset({None, 1})
PRINTER_SAYS_NOTHING = frozenset({None, 1, 2})
#: States in which the printer is up: running, warning, testing; idle, printing, warming up.
DEVICE_UP = frozenset({2, 3, 4})
PRINTER_UP = frozenset({3, 4, 5})
DEVICE_DOWN = 5

#: hrPrinterDetectedErrorState bits, most significant bit of the first octet = bit 0.
ERROR_BITS = (
    "low paper",
    "no paper",
    "low toner",
    "no toner",
    "door open",
    "jammed",
    "offline",
    "service requested",
    "input tray missing",
    "output tray missing",
    "marker supply missing",
    "output near full",
    "output full",
    "input tray empty",
    "overdue preventive maintenance",
)
#: Conditions under which the printer cannot print: the check fails.
FAILING_ERRORS = frozenset(
    {
        "no paper",
        "no toner",
        "door open",
        "jammed",
        "offline",
        "service requested",
        "marker supply missing",
        "output full",
        # Said by CUPS (checks/equipment/cups.py): a marker supply (ink, toner) is empty,
        # or the queue refuses jobs.
        "supply empty",
        "not accepting jobs",
    }
)


@dataclass(frozen=True)
class Supply:
    index: str
    description: str
    supply_class: int | None
    supply_type: int | None
    max_capacity: int | None
    level: int | None

    @property
    def ratio(self) -> float | None:
        """Level / max capacity in 0..1, or None when either is a special or missing value."""
        if self.level is None or self.max_capacity is None:
            return None
        if self.level < 0 or self.max_capacity <= 0:
            return None
        return min(self.level / self.max_capacity, 1.0)

    @property
    def consumed(self) -> bool:
        return self.supply_class != CLASS_RECEPTACLE

    @property
    def label(self) -> str:
        """Human words: "black toner" from the type and the description."""
        stem = SUPPLY_TYPES.get(self.supply_type or 0, "supply").replace("_", " ")
        colour = next((c for c in _COLOURS if c in self.description.lower()), "")
        return f"{colour} {stem}".strip() if colour else (self.description or stem)

    @property
    def value_name(self) -> str:
        stem = SUPPLY_TYPES.get(self.supply_type or 0, "supply")
        colour = next((c for c in _COLOURS if c in self.description.lower()), "")
        return f"{stem}_{colour}" if colour else stem

    def words(self) -> str:
        """The supply and its level as a kept message (said in the reader's language)."""
        ratio = self.ratio
        how = "level" if ratio is not None else "some" if self.level == SOME_REMAINING else "none"
        stem = SUPPLY_TYPES.get(self.supply_type or 0, "supply")
        colour = next((c for c in _COLOURS if c in self.description.lower()), "")
        level = {"level": round(ratio * 100)} if ratio is not None else {}
        if colour:
            return kept(f"pr.{how}", {"kind": stem, "colour": colour, **level}, "")
        return kept(f"pr.{how}_named", {"name": self.label, **level}, "")


@dataclass(frozen=True)
class PrinterSection:
    supplies: tuple[Supply, ...] = ()
    printer_status: int | None = None
    device_status: int | None = None
    errors: tuple[str, ...] = ()
    missing: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.supplies and self.printer_status is None and self.device_status is None


def decode_error_state(value: object) -> tuple[str, ...]:
    """hrPrinterDetectedErrorState (an OCTET STRING of bits, MSB first) as condition names."""
    if not isinstance(value, bytes):
        return ()
    out = []
    for bit, name in enumerate(ERROR_BITS):
        octet = bit // 8
        if octet < len(value) and value[octet] & (0x80 >> (bit % 8)):
            out.append(name)
    return tuple(out)


def _enum(value: SnmpValue, top: int) -> int | None:
    n = as_int(value)
    return n if n is not None and 1 <= n <= top else None


def parse_printer(rows: Sequence[Row]) -> PrinterSection:
    cols = columns(rows, *oids.PRINTER_COLUMNS, oids.HR_DEVICE_STATUS)
    levels = cols[oids.PRT_MARKER_SUPPLIES_LEVEL]
    supplies = []
    for idx in sorted(levels, key=lambda i: tuple(int(p) for p in i.split(".") if p.isdigit())):
        supplies.append(
            Supply(
                index=idx,
                description=as_text(cols[oids.PRT_MARKER_SUPPLIES_DESCRIPTION].get(idx)),
                supply_class=as_int(cols[oids.PRT_MARKER_SUPPLIES_CLASS].get(idx)),
                supply_type=as_int(cols[oids.PRT_MARKER_SUPPLIES_TYPE].get(idx)),
                max_capacity=as_int(cols[oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY].get(idx)),
                level=as_int(levels[idx]),
            )
        )
    # The printer's hrDeviceIndex: the hrPrinterTable row, else the supplies' first part.
    printer_rows = cols[oids.HR_PRINTER_STATUS]
    device = next(iter(sorted(printer_rows)), None)
    if device is None and supplies:
        device = supplies[0].index.split(".")[0]
    # Both are enumerations 1..5 (HOST-RESOURCES-MIB); another number is not a status.
    printer_status = _enum(printer_rows.get(device), 5) if device else None
    device_status = _enum(cols[oids.HR_DEVICE_STATUS].get(device), 5) if device else None
    errors = decode_error_state(cols[oids.HR_PRINTER_DETECTED_ERROR_STATE].get(device or ""))
    missing = tuple(
        name
        for name, present in (
            ("prtMarkerSuppliesLevel", bool(supplies)),
            ("hrPrinterStatus", printer_status is not None),
            ("hrDeviceStatus", device_status is not None),
        )
        if not present
    )
    return PrinterSection(tuple(supplies), printer_status, device_status, errors, missing)


_NAME_RE = re.compile(r"[^a-z0-9_]+")


def _supply_values(consumed: list[Supply], ratios: list[float]) -> dict[str, Value]:
    """The lowest level, then each measurable level by name (32 values at most)."""
    values: dict[str, Value] = {}
    if ratios:
        values["supply_level_min"] = Value(value=min(ratios), unit="ratio")
    for supply in consumed:
        ratio = supply.ratio
        name = _NAME_RE.sub("_", supply.value_name.lower())
        if ratio is None or len(values) >= 32:
            continue
        if name in values:
            name = f"{name}_{supply.index.replace('.', '_')}"
        values[name] = Value(value=ratio, unit="ratio")
    return values


def _printer_message(section: PrinterSection) -> MessageRef:
    """States and error conditions, then each supply, then what the device did not report:
    each a kept message (checks/messages.py), so that the whole is said in the reader's
    language; in English when they do not fit in a parameter."""
    state = []
    if section.device_status is not None:
        words = DEVICE_STATUS.get(section.device_status, f"status {section.device_status}")
        state.append(kept(f"term.printer_{words.replace(' ', '_')}", {}, words))
    if section.printer_status is not None and section.printer_status not in (1, 2):
        words = PRINTER_STATUS.get(section.printer_status, "")
        state.append(kept(f"term.printer_{words.replace(' ', '_')}", {}, words) if words else "")
    state.extend(kept(f"term.printer_{e.replace(' ', '_')}", {}, e) for e in section.errors)
    supplies = [s.words() for s in section.supplies]
    said = ", ".join(p for p in state if p)
    if supplies:
        said += ("; " if said else "") + ", ".join(supplies)
    if section.missing:
        said += " " + kept("pr.not_reported", {"names": ", ".join(section.missing)})
    if len(said) > MAX_PARAM_CHARS:
        said = written(said, "en")
    return msg("eq.printer.state", states=said)


def _errors_verdict(errors: tuple[str, ...]) -> Status:
    """A condition that stops printing fails; any other condition warns."""
    if not FAILING_ERRORS.isdisjoint(errors):
        return Status.FAIL
    return Status.WARN if errors else Status.OK


def _says_nothing(section: PrinterSection) -> bool:
    """No state worth judging: both statuses unknown or missing, and no error condition."""
    return (
        section.device_status in DEVICE_SAYS_NOTHING
        and section.printer_status in PRINTER_SAYS_NOTHING
        and not section.errors
    )


def _nothing_message(section: PrinterSection) -> str:
    said = [
        f"{name} {words[value]}"
        for name, value, words in (
            ("hrDeviceStatus", section.device_status, DEVICE_STATUS),
            ("hrPrinterStatus", section.printer_status, PRINTER_STATUS),
        )
        if value is not None
    ]
    if section.missing:
        said.append(f"not reported: {', '.join(section.missing)}")
    return (
        f"the device answers but sends no usable printer status or supply level ({'; '.join(said)})"
    )


def printer_up(section: PrinterSection) -> bool | None:
    """Whether the printer says it is up (hrDeviceStatus first), or None when it does not
    say: an unknown state is not "up"."""
    if section.device_status == DEVICE_DOWN:
        return False
    if section.device_status in DEVICE_UP or section.printer_status in PRINTER_UP:
        return True
    return None


def evaluate_printer(section: PrinterSection, target: str) -> CheckResult:
    """The printer's own states decide (down, errors it reports); how empty a supply may be
    is the catalogue's level on ``supply_level_min`` (EQ-02)."""
    result = device_result(CHECK_ID, target)

    if section.empty:
        return result(
            Status.UNKNOWN,
            "the device answers SNMP but not the Printer-MIB "
            "(RFC 3805) nor HOST-RESOURCES printer status",
        )
    consumed = [s for s in section.supplies if s.consumed]
    ratios = [r for r in (s.ratio for s in consumed) if r is not None]
    if _says_nothing(section) and not ratios:
        return result(Status.UNKNOWN, _nothing_message(section))
    values = _supply_values(consumed, ratios)
    up = printer_up(section)
    if up is not None:
        values["printer_up"] = Value(value=1.0 if up else 0.0)
    status = worst(
        DEVICE_VERDICT.get(section.device_status or 0, Status.OK),
        _errors_verdict(section.errors),
    )
    return result(status, _printer_message(section), values)
