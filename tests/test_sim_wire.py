"""The lean simulator's wire code against the reference client and an independent websocket implementation."""

import msgpack
import numpy as np
import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.realtime import codec
from server.realtime.pose import BODY, HEAD, LEFT_CONTROLLER, LEFT_HAND, PART_FLOATS, RIGHT_CONTROLLER, RIGHT_HAND
from sim.client import ClientSession, encode_pose_upload
from sim.wire import (
    OP_CLOSE,
    OP_PING,
    UploadEncoder,
    apply_mask,
    check_handshake,
    handshake_request,
    mask_frame,
    scan_frames,
)
from tests.support import random_states


def parse_client_frame(data: bytes) -> Frame:
    """Parse one client frame as a server would (websockets' own parser, which insists on the mask)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=True, max_size=None, extensions=[])
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:
        raise AssertionError("frame incomplete")
    assert reader.at_eof(), "bytes left after the frame"
    return frame


@pytest.mark.parametrize("parts", [
    (HEAD,), (HEAD, LEFT_CONTROLLER, RIGHT_CONTROLLER), (HEAD, LEFT_HAND, RIGHT_HAND),
    (HEAD, BODY), (HEAD, LEFT_CONTROLLER, RIGHT_CONTROLLER, LEFT_HAND, RIGHT_HAND, BODY),
])
def test_bulk_uploads_are_byte_identical_to_the_reference_encoder(parts):
    rng = np.random.default_rng(len(parts))
    n = 7
    values = {p: rng.normal(size=(n, PART_FLOATS[p])) for p in parts}
    seq = rng.integers(0, 200_000, n)  # wraps at 65536
    ack = rng.integers(0, 2**33, n)  # wraps at 2^32
    enc = UploadEncoder(n, parts)
    for _ in range(2):  # the matrix is rewritten in place: the second tick must not keep anything of the first
        enc.encode(seq, ack, values)
        for i in range(n):
            expected = encode_pose_upload(int(seq[i]), int(ack[i]), {p: values[p][i] for p in parts})
            frame = parse_client_frame(bytes(enc.rows[i]))
            assert frame.opcode is Opcode.BINARY and frame.fin
            assert frame.data == expected
            assert enc.payload(i) == expected
        values = {p: v + 1.0 for p, v in values.items()}
        seq, ack = seq + 1, ack + 1


def test_bulk_uploads_take_a_scalar_seq_and_ack_and_use_a_fresh_mask_per_frame():
    enc = UploadEncoder(50, (HEAD,))
    head = np.tile([0.0, 1.6, 0.0, 0.0, 0.0, 0.0, 1.0], (50, 1))
    enc.encode(3, 9, {HEAD: head})
    masks = {bytes(enc.frames[i, 2:6]) for i in range(50)}
    assert len(masks) > 40  # random 4-byte keys: collisions are rare, identical keys would be a bug
    assert all(parse_client_frame(bytes(r)).data == encode_pose_upload(3, 9, {HEAD: head[0]}) for r in enc.rows)


def test_control_frames_are_masked_and_parse():
    payload = msgpack.packb({"t": "ack", "tick": 12345})
    frame = parse_client_frame(mask_frame(payload))
    assert frame.data == payload
    big = bytes(range(256)) * 300  # a 64-bit length
    assert parse_client_frame(mask_frame(big, mask=b"\x01\x02\x03\x04")).data == big
    assert apply_mask(apply_mask(big, b"wxyz"), b"wxyz") == big


def server_frame(data: bytes, opcode: Opcode = Opcode.BINARY) -> bytes:
    return Frame(opcode, data).serialize(mask=False, extensions=[])


def snapshot_stream(rng: np.random.Generator, n_frames: int, n_avatars: int) -> list[bytes]:
    """Snapshot payloads as a server makes them (absolute first, then deltas), with control messages between."""
    ids = np.arange(1, n_avatars + 1)
    presence = np.full(n_avatars, 7)
    states = random_states(rng, n_avatars, presence)
    big = {"t": "joined", "avatar": {"id": 99, "name": "x" * 70_000, "external": False}}  # a 64-bit length
    out = [msgpack.packb(big)]
    prev = None
    for k in range(n_frames):
        tick = 1000 + k
        if prev is None:
            blocks = codec.encode_absolute(ids, states, presence)
            out.append(codec.frame(tick, tick * 16, [(0, n_avatars, blocks.all_bytes())]))
        else:
            blocks = codec.encode_delta(ids, states, presence, prev, presence)
            out.append(codec.frame(tick, tick * 16, [(1, n_avatars, blocks.all_bytes())]))
        prev = states.copy()
        states = states.copy()
        states[:, :3] += rng.integers(-40, 40, (n_avatars, 3))
        if k % 3 == 1:
            out.append(msgpack.packb({"t": "error", "code": "pose_malformed", "message": "x"}))
    return out


@pytest.mark.parametrize("n_avatars", [1, 30, 800])  # snapshot frames with 7-bit and 16-bit lengths
def test_lean_scan_counts_and_acks_what_full_decoding_sees(n_avatars):
    rng = np.random.default_rng(n_avatars)
    payloads = snapshot_stream(rng, 6, n_avatars)
    wire = b"".join(server_frame(p) for p in payloads) + server_frame(b"hi", Opcode.PING)
    session = ClientSession(decode=True)
    for p in payloads:
        session.receive(p)
    assert session.errors and session.last_tick == 1005
    # cut the stream at random places, as TCP may: leftovers carry over between reads
    for trial in range(20):
        cuts = sorted(rng.choice(np.arange(1, len(wire)), size=min(len(wire) - 1, 1 + trial), replace=False))
        pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
        left, snapshots, newest, others = b"", 0, -1, []
        for piece in pieces:
            data = left + piece
            at, s, tick, more = scan_frames(data)
            snapshots += s
            newest = tick if s else newest
            others += list(more)
            left = data[at:]
        assert left == b""
        assert snapshots == session.snapshots == 6
        assert newest == session.last_tick
        controls = [msgpack.unpackb(p) for op, p in others if op == Opcode.BINARY.value]
        assert [m["t"] for m in controls] == ["joined", "error", "error"]
        assert [op for op, _ in others][-1] == OP_PING


def test_lean_scan_reports_a_close_frame_and_refuses_a_masked_server_frame():
    close = Frame(Opcode.CLOSE, b"\x0f\xa8too slow").serialize(mask=False, extensions=[])
    at, s, _tick, others = scan_frames(close)
    assert at == len(close) and s == 0 and others[0][0] == OP_CLOSE
    masked = Frame(Opcode.BINARY, b"\x02" * 20).serialize(mask=True, extensions=[])
    _, s, _, others = scan_frames(masked)
    assert s == 0 and others[0][0] < 0


def test_handshake_accept_check():
    request, accept = handshake_request("127.0.0.1", 8000, "/ws?v=2&room=main")
    assert request.startswith(b"GET /ws?v=2&room=main HTTP/1.1\r\n") and request.endswith(b"\r\n\r\n")
    good = f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
           f"Sec-WebSocket-Accept: {accept}".encode()
    check_handshake(good, accept)
    with pytest.raises(ConnectionError):
        check_handshake(good.replace(accept.encode(), b"x" * len(accept)), accept)
    with pytest.raises(ConnectionError):
        check_handshake(b"HTTP/1.1 403 Forbidden\r\n", accept)
