"""Slowloris and friends against the real server: raw sockets that send nothing, half a head, a slow body."""

from __future__ import annotations

import asyncio

import pytest

from server import limits
from server.net import connection_guard


def short(monkeypatch, name: str, value: float) -> None:
    monkeypatch.setitem(limits.TABLE, name, limits.Limit(name, value, "s", "test"))


async def open_raw(server):
    host, port = server.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def read_all(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 5)


@pytest.mark.parametrize("sent", [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"G"])
async def test_a_connection_without_a_complete_head_is_closed_with_408(live_server, monkeypatch, sent):
    short(monkeypatch, "header_timeout_s", 0.3)
    reader, writer = await open_raw(live_server)
    writer.write(sent)
    answer = await read_all(reader)
    assert answer.startswith(b"HTTP/1.1 408") and b"application/problem+json" in answer
    writer.close()


async def test_a_body_that_trickles_is_closed_with_408(live_server, monkeypatch):
    short(monkeypatch, "body_timeout_s", 0.3)
    reader, writer = await open_raw(live_server)
    writer.write(b"POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"name\"")
    answer = await read_all(reader)
    assert answer.startswith(b"HTTP/1.1 408")
    writer.close()


async def test_keep_alive_requests_are_guarded_after_the_first(live_server, monkeypatch):
    short(monkeypatch, "header_timeout_s", 0.5)
    reader, writer = await open_raw(live_server)
    body = b'{"name": "Pipelined"}'
    writer.write(b"POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")  # then half a head
    answer = await read_all(reader)
    assert answer.count(b"HTTP/1.1 201") == 1 and answer.count(b"HTTP/1.1 200") == 1
    assert answer.rstrip().endswith(b'"errors":[]}') and b"HTTP/1.1 408" in answer
    writer.close()


async def test_one_address_holds_a_bounded_number_of_http_connections_and_websockets_do_not_count(
        live_server, monkeypatch):
    from sim.client import PlazaClient

    cap = 3
    monkeypatch.setitem(limits.TABLE, "pending_connections_per_address",
                        limits.Limit("pending_connections_per_address", cap, "connections", "test"))
    shoppers = [await PlazaClient.join(live_server.url, name=f"s{i}") for i in range(cap + 1)]  # websockets
    idle = [await open_raw(live_server) for _ in range(cap)]
    await asyncio.sleep(0.05)
    reader, _ = await open_raw(live_server)
    answer = await read_all(reader)
    assert answer.startswith(b"HTTP/1.1 429")
    for _, w in idle:
        w.close()
    for _ in range(100):
        if not connection_guard._OPEN:
            break
        await asyncio.sleep(0.02)
    assert not connection_guard._OPEN  # closed connections are forgotten
    for shopper in shoppers:
        await shopper.close()
