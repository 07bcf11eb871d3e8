"""A fast, strict OSC 1.0 parser and a small encoder (used by the sender tool and tests).

Supported argument tags: i f s S b t h d T F N I. Anything malformed raises OscError, never another
exception, and parsing always terminates (every step consumes bytes, nesting depth is bounded).
Speed: argument tag strings compile once into struct plans, so a VMC bone message is two slices, one
``bytes.index`` and one ``struct.unpack_from``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

MAX_DEPTH = 8
MAX_ARGS = 256
IMMEDIATELY = 1  # the OSC timetag meaning "now"
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP epoch) to 1970-01-01

_BUNDLE = b"#bundle\0"
_INT = struct.Struct(">i")
_UINT64 = struct.Struct(">Q")
_FIXED = {"i": ("i", 4), "f": ("f", 4), "h": ("q", 8), "d": ("d", 8), "t": ("Q", 8)}
_CONST = {"T": True, "F": False, "N": None, "I": float("inf")}

# (timetag or None, address, args): one message, with the timetag of the bundle that carried it.
OscMessage = tuple[int | None, str, tuple]


class OscError(ValueError):
    """The bytes are not a valid OSC 1.0 packet; the message says what is wrong."""


Plan = list[tuple[str, object]]
_PLANS: dict[bytes, Plan] = {}


def _compile(tags: bytes) -> Plan:
    plan: Plan = []
    fmt = ""
    for ch in tags.decode("ascii", "replace"):
        if ch in _FIXED:
            fmt += _FIXED[ch][0]
            continue
        if fmt:
            plan.append(("fixed", struct.Struct(">" + fmt)))
            fmt = ""
        if ch in ("s", "S"):
            plan.append(("str", None))
        elif ch == "b":
            plan.append(("blob", None))
        elif ch in _CONST:
            plan.append(("const", _CONST[ch]))
        else:
            raise OscError(f"unsupported OSC argument type {ch!r}")
    if fmt:
        plan.append(("fixed", struct.Struct(">" + fmt)))
    return plan


def _plan(tags: bytes) -> Plan:
    plan = _PLANS.get(tags)
    if plan is None:
        if len(tags) > MAX_ARGS:
            raise OscError(f"more than {MAX_ARGS} arguments in one message")
        plan = _compile(tags)
        if len(_PLANS) < 512:  # bounded: a hostile sender cannot grow the cache
            _PLANS[tags] = plan
    return plan


def _parse_message(data: bytes, start: int, end: int, timetag: int | None, out: list[OscMessage]) -> None:
    # Hot path (one call per VMC bone): string scans are inlined, fixed-size runs are one unpack_from.
    try:
        nul = data.index(b"\0", start, end)
    except ValueError:
        raise OscError("address is not NUL-terminated inside the packet") from None
    pos = nul + 4 - ((nul - start) & 3)
    try:
        address = data[start:nul].decode("ascii")
    except UnicodeDecodeError:
        raise OscError("address is not ASCII") from None
    if pos >= end:
        if pos > end:
            raise OscError("address padding runs past the end of the packet")
        out.append((timetag, address, ()))  # OSC 1.0 allows a message without a type tag string
        return
    if data[pos] != 0x2C:  # ','
        raise OscError(f"{address}: the type tag string must start with ','")
    try:
        tnul = data.index(b"\0", pos, end)
    except ValueError:
        raise OscError(f"{address}: type tag string is not NUL-terminated inside the packet") from None
    tags = data[pos + 1:tnul]
    pos = tnul + 4 - ((tnul - pos) & 3)
    if pos > end:
        raise OscError(f"{address}: type tag padding runs past the end of the packet")
    plan = _PLANS.get(tags) or _plan(tags)
    args: list = []
    for kind, spec in plan:
        if kind == "fixed":
            size = spec.size  # type: ignore[union-attr]
            if pos + size > end:
                raise OscError(f"{address}: arguments run past the end of the packet")
            args.extend(spec.unpack_from(data, pos))  # type: ignore[union-attr]
            pos += size
        elif kind == "str":
            try:
                snul = data.index(b"\0", pos, end)
            except ValueError:
                raise OscError(f"{address}: string argument is not NUL-terminated inside the packet") from None
            try:
                args.append(data[pos:snul].decode("utf-8"))
            except UnicodeDecodeError:
                raise OscError(f"{address}: string argument is not UTF-8") from None
            pos = snul + 4 - ((snul - pos) & 3)
            if pos > end:
                raise OscError(f"{address}: string padding runs past the end of the packet")
        elif kind == "blob":
            if pos + 4 > end:
                raise OscError(f"{address}: blob size runs past the end of the packet")
            (size,) = _INT.unpack_from(data, pos)
            if size < 0 or pos + 4 + size > end:
                raise OscError(f"{address}: blob of {size} bytes does not fit in the packet")
            args.append(data[pos + 4:pos + 4 + size])
            pos += 4 + ((size + 3) & ~3)
            if pos > end:
                raise OscError(f"{address}: blob padding runs past the end of the packet")
        else:
            args.append(spec)
    if pos != end:
        raise OscError(f"{address}: {end - pos} bytes left over after the arguments")
    out.append((timetag, address, tuple(args)))


def _parse(data: bytes, start: int, end: int, timetag: int | None, depth: int, out: list[OscMessage],
           limit: int = 1 << 30, skipped: list[int] | None = None) -> None:
    if end - start < 4 or (end - start) & 3:
        raise OscError(f"an OSC packet is a non-empty multiple of 4 bytes, got {end - start}")
    if data[start] == 0x23:  # '#'
        if data[start:start + 8] != _BUNDLE:
            raise OscError("starts with '#' but is not '#bundle'")
        if depth >= MAX_DEPTH:
            raise OscError(f"bundles nested deeper than {MAX_DEPTH}")
        if end - start < 16:
            raise OscError("bundle shorter than its 16-byte header")
        (tt,) = _UINT64.unpack_from(data, start + 8)
        pos = start + 16
        while pos < end:
            if pos + 4 > end:
                raise OscError("bundle element size runs past the end of the packet")
            (size,) = _INT.unpack_from(data, pos)
            pos += 4
            if size <= 0 or size & 3 or pos + size > end:
                raise OscError(f"bundle element of {size} bytes does not fit (or is not a multiple of 4)")
            if len(out) >= limit:  # over the work budget: skipped unread, only counted
                if skipped is not None:
                    skipped[0] += 1
            elif data[pos] == 0x2F:  # the common case, a message: skip one level of dispatch
                _parse_message(data, pos, pos + size, tt, out)
            else:
                _parse(data, pos, pos + size, tt, depth + 1, out, limit, skipped)
            pos += size
    elif data[start] == 0x2F:  # '/'
        _parse_message(data, start, end, timetag, out)
    else:
        raise OscError("an OSC packet starts with '/' (message) or '#bundle'")


def parse_packet(data: bytes) -> list[OscMessage]:
    """All messages of a packet, flattened, each with the timetag of its innermost bundle (None if bare)."""
    out: list[OscMessage] = []
    _parse(bytes(data), 0, len(data), None, 0, out)
    return out


def parse_packet_limited(data: bytes, max_messages: int) -> tuple[list[OscMessage], int]:
    """The first `max_messages` messages of a packet, and how many bundle elements after them were skipped
    unread (a skipped nested bundle counts as one). Bounds the work one datagram can cost."""
    out: list[OscMessage] = []
    skipped = [0]
    _parse(bytes(data), 0, len(data), None, 0, out, max_messages, skipped)
    return out, skipped[0]


# ---- encoder -------------------------------------------------------------------------------------------

def _pad(b: bytes) -> bytes:
    return b + b"\0" * (4 - (len(b) & 3))


def _blob(b: bytes) -> bytes:
    return _INT.pack(len(b)) + b + b"\0" * (-len(b) & 3)


_ENCODERS: dict[str, Callable[[object], bytes]] = {
    "i": lambda v: _INT.pack(int(v)),  # type: ignore[call-overload]
    "f": lambda v: struct.pack(">f", float(v)),  # type: ignore[arg-type]
    "h": lambda v: struct.pack(">q", int(v)),  # type: ignore[call-overload]
    "d": lambda v: struct.pack(">d", float(v)),  # type: ignore[arg-type]
    "t": lambda v: _UINT64.pack(int(v)),  # type: ignore[call-overload]
    "s": lambda v: _pad(str(v).encode("utf-8")),
    "b": lambda v: _blob(bytes(v)),  # type: ignore[call-overload]
}


def encode_message(address: str, args: Iterable[object] = (), tags: str | None = None) -> bytes:
    """One OSC message. Tags default from the Python types: int -> i, float -> f, str -> s, bytes -> b."""
    args = list(args)
    if tags is None:
        tags = "".join(
            "T" if a is True else "F" if a is False else "i" if isinstance(a, int) else "f" if isinstance(a, float)
            else "s" if isinstance(a, str) else "b" for a in args
        )
    body = b"".join(_ENCODERS[t](a) for t, a in zip(tags, args, strict=True) if t in _ENCODERS)
    return _pad(address.encode("ascii")) + _pad(("," + tags).encode("ascii")) + body


def encode_bundle(timetag: int, elements: Iterable[bytes]) -> bytes:
    return _BUNDLE + _UINT64.pack(timetag) + b"".join(_INT.pack(len(e)) + e for e in elements)


def timetag_from_seconds(unix_seconds: float) -> int:
    """NTP 64-bit fixed-point timetag for a Unix time."""
    total = unix_seconds + NTP_UNIX_OFFSET
    secs = int(total)
    return (secs << 32) | int((total - secs) * (1 << 32))


def timetag_to_seconds(timetag: int) -> float:
    return (timetag >> 32) - NTP_UNIX_OFFSET + (timetag & 0xFFFFFFFF) / (1 << 32)
