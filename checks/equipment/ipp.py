"""The small part of IPP/1.1 (RFC 8010, RFC 8011) the CUPS check needs, over
:mod:`checks.http` (the standard library's HTTP client).

One request shape (operation attributes only: charset, language, printer URI, requested
attributes) and a decoder of the answer's attribute groups into plain Python values. Enough
for CUPS-Get-Printers and Get-Printer-Attributes; not a general IPP client (no job
operations, no collections beyond skipping them).

Why not a library: ``pyipp`` needs aiohttp and its seven companions on every commune PC for
one request, ``pycups`` is compiled against libcups and blocks; the agent already has an HTTP client
(docs/DEVICES.md, "USB devices").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from checks import http

GET_PRINTER_ATTRIBUTES = 0x000B
CUPS_GET_PRINTERS = 0x4002

#: Delimiter tags (RFC 8010 §3.5.1).
OPERATION_GROUP = 0x01
END_OF_ATTRIBUTES = 0x03
PRINTER_GROUP = 0x04
#: Value tags this codec writes or reads as numbers or text.
TAG_INTEGER = 0x21
TAG_BOOLEAN = 0x22
TAG_ENUM = 0x23
TAG_URI = 0x45
TAG_KEYWORD = 0x44
TAG_CHARSET = 0x47
TAG_LANGUAGE = 0x48
TEXT_TAGS = frozenset({0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49})
#: A status code below this is success (0x0000..0x00FF).
SUCCESS_LIMIT = 0x0100
#: Largest answer read: a CUPS server with a few hundred queues stays far below it.
MAX_ANSWER_BYTES = 4 * 1024 * 1024

Value = int | bool | str | bytes
Attributes = dict[str, list[Value]]


class IppError(Exception):
    """The answer is not IPP, or the server refused the request (``status`` set)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class IppAnswer:
    status: int
    request_id: int
    operation: Attributes = field(default_factory=dict)
    #: One dict per printer-attributes group, in the order sent.
    printers: tuple[Attributes, ...] = ()


def _attribute(tag: int, name: str, value: bytes) -> bytes:
    raw_name = name.encode("ascii")
    return struct.pack(">BH", tag, len(raw_name)) + raw_name + struct.pack(">H", len(value)) + value


def encode_request(
    operation: int, request_id: int, printer_uri: str, requested: tuple[str, ...]
) -> bytes:
    """An IPP/2.0 request with the operation attributes RFC 8011 requires."""
    body = struct.pack(">BBHI", 2, 0, operation, request_id) + bytes([OPERATION_GROUP])
    body += _attribute(TAG_CHARSET, "attributes-charset", b"utf-8")
    body += _attribute(TAG_LANGUAGE, "attributes-natural-language", b"en")
    body += _attribute(TAG_URI, "printer-uri", printer_uri.encode("utf-8"))
    for i, name in enumerate(requested):
        body += _attribute(TAG_KEYWORD, "requested-attributes" if i == 0 else "", name.encode())
    return body + bytes([END_OF_ATTRIBUTES])


def _value(tag: int, raw: bytes) -> Value:
    if tag in (TAG_INTEGER, TAG_ENUM) and len(raw) == 4:
        return int(struct.unpack(">i", raw)[0])
    if tag == TAG_BOOLEAN and len(raw) == 1:
        return raw != b"\x00"
    if tag in TEXT_TAGS:
        return raw.decode("utf-8", errors="replace")
    return raw  # other syntaxes (dates, resolutions, collections) are kept as bytes


def decode_answer(data: bytes) -> IppAnswer:
    """The status and the attribute groups of an IPP answer; :class:`IppError` when it is
    cut short or is not IPP."""
    if len(data) < 9:
        raise IppError(f"not an IPP answer ({len(data)} bytes)")
    _, _, status, request_id = struct.unpack(">BBHI", data[:8])
    groups: list[tuple[int, Attributes]] = []
    pos, last = 8, ""
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag == END_OF_ATTRIBUTES:
            break
        if tag < 0x10:  # a new attribute group
            groups.append((tag, {}))
            continue
        if not groups or pos + 2 > len(data):
            raise IppError("malformed IPP answer (value outside a group)")
        (name_len,) = struct.unpack(">H", data[pos : pos + 2])
        name = data[pos + 2 : pos + 2 + name_len].decode("utf-8", errors="replace")
        pos += 2 + name_len
        if pos + 2 > len(data):
            raise IppError("IPP answer cut short")
        (value_len,) = struct.unpack(">H", data[pos : pos + 2])
        raw = data[pos + 2 : pos + 2 + value_len]
        pos += 2 + value_len
        if len(raw) != value_len:
            raise IppError("IPP answer cut short")
        last = name or last  # an empty name adds a value to the attribute before it
        if 0x10 <= tag <= 0x1F:  # out-of-band: unsupported, unknown, no-value
            groups[-1][1].setdefault(last, [])
            continue
        groups[-1][1].setdefault(last, []).append(_value(tag, raw))
    operation = next((attrs for tag, attrs in groups if tag == OPERATION_GROUP), {})
    printers = tuple(attrs for tag, attrs in groups if tag == PRINTER_GROUP)
    return IppAnswer(status, request_id, operation, printers)


async def ipp_request(
    client: http.Client,
    url: str,
    operation: int,
    printer_uri: str,
    requested: tuple[str, ...],
    request_id: int = 1,
) -> IppAnswer:
    """POST one request to ``url`` and decode the answer. Raises :class:`IppError` for an
    HTTP error, an answer that is not IPP, or an IPP error status;
    :class:`checks.http.HTTPError` for a connection that fails."""
    body = encode_request(operation, request_id, printer_uri, requested)
    response = await client.arequest(
        "POST", url, content=body, headers={"Content-Type": "application/ipp"}
    )
    if response.status_code != 200:
        raise IppError(f"HTTP {response.status_code} from {url}")
    data = response.content[:MAX_ANSWER_BYTES]
    answer = decode_answer(data)
    if answer.status >= SUCCESS_LIMIT:
        said = [w for w in answer.operation.get("status-message", []) if isinstance(w, str)]
        message = f": {said[0]}" if said and said[0] else ""
        raise IppError(f"IPP status 0x{answer.status:04x}{message}", answer.status)
    return answer
