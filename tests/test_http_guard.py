"""The HTTP guard in front of the app: body limit (413), strict JSON (400 malformed_json), Range sanity."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from server import limits
from server.config import Settings
from server.net.app import create_app
from server.net.http_guard import HttpGuard, check_json, range_is_valid

LIMIT = int(limits.get("max_body_bytes"))
BODY = {"sex": "female", "stature": 167, "weight": 61}


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    return TestClient(create_app(Settings(data_dir=str(tmp_path))))


class Recorder:
    """An ASGI app that records what reached it."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append((scope, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(app, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes, int]:
    """Run one request through an ASGI app; (status, body, chunks the app side read)."""
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        if read >= len(chunks):
            raise AssertionError("read past the end of the body")
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers, "query_string": b""}
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, read


def test_content_length_over_the_limit_is_413_before_anything_is_read():
    app = Recorder()
    status, body, read = call(HttpGuard(app, 1000), [(b"content-length", b"50000000")], [b"x" * 10])
    assert status == 413 and b'"body_too_large"' in body
    assert read == 0 and app.calls == []


def test_a_streamed_body_is_cut_at_the_limit():
    app = Recorder()
    chunks = [b"x" * 400] * 100  # 40 KB without a Content-Length
    status, _, read = call(HttpGuard(app, 1000), [(b"content-type", b"application/octet-stream")], chunks)
    assert status == 413 and app.calls == []
    assert read == 3  # stopped at the chunk that crossed 1,000 bytes, not after 40 KB


def test_a_body_within_the_limit_is_replayed_unchanged():
    app = Recorder()
    status, _, _ = call(HttpGuard(app, 1000), [(b"content-type", b"application/json")], [b'{"a": ', b"[1, 2.5]}"])
    assert status == 200 and app.calls[0][1] == b'{"a": [1, 2.5]}'


def test_413_through_the_app_for_a_declared_and_a_chunked_body(client):
    r = client.post("/api/sizing/estimate", content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "body_too_large" and len(r.content) < 1000

    def chunks():
        for _ in range(LIMIT // 65536 + 2):
            yield b" " * 65536

    r = client.post("/api/rooms", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


@pytest.mark.parametrize("raw", [
    b'{"sex": "female", "stature": NaN, "weight": 61}',
    b'{"sex": "female", "stature": Infinity, "weight": 61}',
    b'{"sex": "female", "stature": -Infinity, "weight": 61}',
    b'{"sex": "female", "stature": 1e400, "weight": 61}',
    b'{"sex": "female", "stature": 167, "weight": 1' + b"0" * 400 + b"}",
    b'{"sex": "\\ud800", "stature": 167, "weight": 61}',
    b'{"\\udfff": 1, "stature": 167, "weight": 61}',
    b'{"sex": "fem\xffale", "stature": 167, "weight": 61}',
    b'{"sex": "female", "stature": 167, "weight": 61, "x": ' + b"[" * 100 + b"]" * 100 + b"}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"stature": 167,',
])
def test_json_that_is_not_strict_json_is_a_400(client, raw):
    r = client.post("/api/sizing/estimate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json" and r.json()["detail"].startswith("We could not read the request")


def test_the_strict_check_also_covers_bodies_without_content_type_and_json_suffixes(client):
    for headers in ({}, {"content-type": "application/merge-patch+json"}, {"content-type": "Application/JSON; x=1"}):
        r = client.post("/api/rooms", content=b'{"name": NaN}', headers=headers)
        assert r.status_code == 400 and r.json()["code"] == "malformed_json", headers
    r = client.post("/api/sizing/estimate", json=BODY)
    assert r.status_code == 200  # strict JSON passes, replayed to the route


def test_check_json_accepts_what_rfc_8259_allows():
    check_json(b'{"a": [1, -2.5e10, 1e308, "\\u00e9\\ud83d\\ude00", null, true], "b": {}}')
    with pytest.raises(ValueError):
        check_json(b"\xef\xbb\xbf{}")  # a BOM is not JSON text


@pytest.mark.parametrize(("value", "ok"), [
    (b"bytes=0-99", True), (b"bytes=100-", True), (b"bytes=-500", True), (b"bytes=0-1, 5-9", True),
    (b"bytes=" + b"9" * 15 + b"-", True), (b"bytes=" + b"9" * 16 + b"-", False),
    (b"bytes=" + b"1" * 5000 + b"-", False),
    (b"bytes=-", False), (b"items=0-5", False), (b"bytes=a-b", False), (b"", False), (b"bytes=0-1,", False),
])
def test_range_headers(value, ok):
    assert range_is_valid(value) is ok
    app = Recorder()
    call(HttpGuard(app), [(b"range", value), (b"x-other", b"1")], [b""])
    names = [name for name, _ in app.calls[0][0]["headers"]]
    assert (b"range" in names) is ok and b"x-other" in names


def test_a_huge_range_number_on_a_static_file_is_ignored_not_a_500(client):
    r = client.get("/client/api.js", headers={"Range": "bytes=" + "1" * 5000 + "-"})
    assert r.status_code == 200 and len(r.content) > 100  # the whole file, as if no Range had been sent
    r = client.get("/client/api.js", headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and len(r.content) == 10


async def test_the_guard_works_over_httpx_asgi_transport(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    app = create_app(Settings(data_dir=str(tmp_path)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        r = await http.post("/api/sizing/estimate", content=b'{"stature": NaN}',
                            headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == "malformed_json"


def test_an_exception_escaping_the_app_is_a_500_problem_and_logged_without_its_message(caplog):
    async def crashing(scope, receive, send) -> None:
        message = await receive()
        raise RuntimeError(message["body"].decode())  # an exception quoting the request

    status, body, _ = call(HttpGuard(crashing), [], [b'{"token": "abc123"}'])
    assert status == 500 and b'"internal_error"' in body and b"abc123" not in body
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "RuntimeError" in logged and "abc123" not in logged
