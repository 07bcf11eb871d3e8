"""The hot-path frame splitter must see exactly what the websockets library alone would see."""

from __future__ import annotations

import base64
import os
import random

from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from server.net.ws_frames import FrameSplitter, binary_frame, unmask

MAX = 16 * 1024


def client_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True, rsv: int = 0) -> bytes:
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head = bytes((b0, mask_bit | n))
    elif n < 65536:
        head = bytes((b0, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((b0, mask_bit | 127)) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def open_protocol() -> ServerProtocol:
    protocol = ServerProtocol(max_size=MAX)
    key = base64.b64encode(os.urandom(16)).decode()
    protocol.receive_data((f"GET /ws?v=2 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    [request] = protocol.events_received()
    assert isinstance(request, Request)
    protocol.send_response(protocol.accept(request))
    protocol.data_to_send()
    return protocol


class Receiver:
    """Messages as a session reassembles them: (kind, bytes) in order, plus the close the library saw."""

    def __init__(self, split: bool) -> None:
        self.protocol = open_protocol()
        self.messages: list[tuple[str, bytes]] = []
        self._parts: list[bytes] | None = None
        self._kind = ""
        self.splitter = FrameSplitter(MAX, lambda data: self.messages.append(("binary", data)), self._slow)
        self.split = split

    def feed(self, data: bytes) -> None:
        if self.split:
            self.splitter.feed(data)
        else:
            self._slow(data)

    def _slow(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        if self.protocol.state is not State.OPEN:  # as the session does
            self.splitter.stop()
        for frame in self.protocol.events_received():
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                kind = "text" if frame.opcode is Opcode.TEXT else "binary"
                if frame.fin:
                    self.messages.append((kind, frame.data))
                else:
                    self._kind, self._parts = kind, [frame.data]
            elif frame.opcode is Opcode.CONT and self._parts is not None:
                self._parts.append(frame.data)
                if frame.fin:
                    self.messages.append((self._kind, b"".join(self._parts)))
                    self._parts = None
            elif frame.opcode is Opcode.PING:
                self.messages.append(("ping", frame.data))
            elif frame.opcode is Opcode.CLOSE:
                self.messages.append(("close", frame.data))

    def outcome(self):
        sent = self.protocol.close_sent  # the close frame the library answered with, if any
        return self.messages, self.protocol.state, sent.code if sent else None


def random_stream(rng: random.Random) -> bytes:
    out = []
    for _ in range(rng.randint(1, 30)):
        roll = rng.random()
        if roll < 0.6:
            out.append(client_frame(0x2, rng.randbytes(rng.choice([0, 1, 8, 125, 126, 300, 5000]))))
        elif roll < 0.7:
            out.append(client_frame(0x1, b"hello"))
        elif roll < 0.8:
            out.append(client_frame(0x9, rng.randbytes(4)))
        elif roll < 0.9:  # a fragmented binary message with a ping in the middle
            out += [client_frame(0x2, b"ab", fin=False), client_frame(0x9, b"p"), client_frame(0x0, b"cd")]
        else:
            out.append(client_frame(0x2, rng.randbytes(40)))
    if rng.random() < 0.3:
        out.append(rng.choice([
            client_frame(0x8, (1000).to_bytes(2, "big") + b"bye"),
            client_frame(0x2, b"x" * (MAX + 1)),  # too big: the library closes with 1009
            client_frame(0x2, b"unmasked", masked=False),  # the library closes with 1002
            client_frame(0x2, b"rsv", rsv=0x40),
            client_frame(0x0, b"stray continuation"),
        ]))
        out.append(client_frame(0x2, b"after the end"))
    return b"".join(out)


def chunks(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12)))) if len(data) > 1 else []
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def test_split_streams_give_the_same_messages_and_closes_as_the_library_alone():
    rng = random.Random(7)
    for _ in range(400):
        stream = random_stream(rng)
        alone, split = Receiver(split=False), Receiver(split=True)
        for piece in chunks(stream, rng):
            alone.feed(piece)
            split.feed(piece)
        assert split.outcome() == alone.outcome()


def test_whole_binary_frames_take_the_fast_path_and_everything_else_the_library():
    fast, slow = [], []
    splitter = FrameSplitter(MAX, fast.append, slow.append)
    upload, ping = client_frame(0x2, b"\x01" * 200), client_frame(0x9, b"ping")
    splitter.feed(upload + ping + upload[:5])
    splitter.feed(upload[5:])
    assert fast == [b"\x01" * 200, b"\x01" * 200]
    assert b"".join(slow) == ping


def test_unmask_and_server_frames_follow_rfc_6455():
    key = bytes((0x37, 0xFA, 0x21, 0x3D))
    assert unmask(bytes((0x7F, 0x9F, 0x4D, 0x51, 0x58)), key) == b"Hello"  # RFC 6455 section 5.7
    assert binary_frame(b"ab") == b"\x82\x02ab"
    assert binary_frame(b"x" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert binary_frame(b"x" * 70000)[:2] == b"\x82\x7f"
