"""Sizing API trust: body data is never cached, profile creation is rate limited per address, and bad input
(lone surrogates, NaN, huge numbers, over-long fields) is a 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from server import limits
from server.config import Settings
from server.net.app import create_app

BODY = {"sex": "female", "stature": 167.3, "weight": 61.7, "chest": 91.3}
PER_MIN = int(limits.get("profiles_per_address_per_min"))


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    return TestClient(create_app(Settings(data_dir=str(tmp_path))))


def test_every_profile_response_says_no_store(client):
    created = client.post("/api/sizing/profiles", json={"consent": True, "body": BODY})
    pid, key = created.json()["profile_id"], created.json()["owner_key"]
    own = {"X-Owner-Key": key}
    answers = [
        created,
        client.get(f"/api/sizing/profiles/{pid}", headers=own),  # the export above all
        client.put(f"/api/sizing/profiles/{pid}", headers=own, json=BODY),
        client.post(f"/api/sizing/profiles/{pid}/feedback", headers=own,
                    json={"chart_id": "tops-women", "size": "M", "verdict": "fits"}),
        client.post("/api/sizing/recommend", headers=own, json={"profile_id": pid, "chart_id": "tops-women"}),
        client.post("/api/sizing/estimate", json=BODY),
        client.get(f"/api/sizing/profiles/{pid}"),  # 401
        client.get("/api/sizing/profiles/nope", headers=own),  # 404
        client.delete(f"/api/sizing/profiles/{pid}", headers=own),
    ]
    for r in answers:
        assert r.headers.get("cache-control") == "no-store", (r.request.method, r.request.url, r.status_code)
    assert [r.status_code for r in answers[-3:]] == [401, 404, 200]
    assert answers[-3].headers["www-authenticate"].startswith("OwnerKey")


def test_profile_creation_is_rate_limited_per_address(client):
    for _ in range(PER_MIN):
        assert client.post("/api/sizing/profiles", json={"consent": True, "body": BODY}).status_code == 201
    r = client.post("/api/sizing/profiles", json={"consent": True, "body": BODY})
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "rate_limited" and 1 <= int(r.headers["retry-after"]) <= 60
    # consenting to storage through /recommend creates a profile too, and is counted the same way
    r = client.post("/api/sizing/recommend", json={"body": BODY, "chart_id": "tops-women", "consent": True})
    assert r.status_code == 429
    # a recommendation that stores nothing is not limited
    assert client.post("/api/sizing/recommend", json={"body": BODY, "chart_id": "tops-women"}).status_code == 200


def test_the_limit_refills_with_time(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    app = create_app(Settings(data_dir=str(tmp_path)))
    clock = [0.0]
    app.state.plaza.sizing_limiter.clock = lambda: clock[0]
    client = TestClient(app)
    for _ in range(PER_MIN):
        client.post("/api/sizing/profiles", json={"consent": True, "body": BODY})
    r = client.post("/api/sizing/profiles", json={"consent": True, "body": BODY})
    assert r.status_code == 429 and r.headers["retry-after"] == str(60 // PER_MIN)
    clock[0] = 60.0 / PER_MIN
    assert client.post("/api/sizing/profiles", json={"consent": True, "body": BODY}).status_code == 201


def post_raw(client, url: str, doc: object, headers: dict | None = None):
    return client.post(url, content=json.dumps(doc).encode(), headers={"content-type": "application/json",
                                                                       **(headers or {})})


@pytest.mark.parametrize(("url", "doc", "status"), [
    ("/api/sizing/estimate", {"stature": 170, "weight": 60, "sex": "\ud800"}, 400),
    ("/api/sizing/recommend", {"body": BODY, "chart_id": "\udc80tops"}, 400),
    ("/api/sizing/recommend", {"body": BODY, "chart_id": "tops-women\x00"}, 400),
    ("/api/sizing/recommend", {"body": BODY, "chart_id": "../../etc/passwd"}, 400),
    ("/api/sizing/recommend", {"body": BODY, "chart_id": "x" * 100_000}, 422),
    ("/api/sizing/recommend", {"body": BODY, "product_id": "p" * 100_000}, 422),
    ("/api/sizing/recommend", {"body": BODY, "chart_id": "tops-women", "usual_sizes": [
        {"chart_id": "tops-unisex", "size": "M" * 10_000}]}, 422),
    ("/api/sizing/estimate", {"stature": 1e308, "weight": 1e308}, 422),
    ("/api/sizing/estimate", {"stature": -1e308, "weight": 5e-324}, 422),
    ("/api/sizing/estimate", {"stature": 10**300, "weight": 60}, 422),
    ("/api/sizing/estimate", {"stature": float("nan"), "weight": 60}, 400),
    ("/api/sizing/furniture-fit", {"room": {"width": 1e308, "depth": 1e308, "height": 1e308},
                                   "doorway": {"width": 1e308, "height": 1e308},
                                   "item": {"width": 1, "depth": 1, "height": 1}}, 422),
    ("/api/sizing/profiles", {"consent": True, "body": {**BODY, "weight": float("inf")}}, 400),
    # numbers and booleans are what the schema says, not coerced from strings or 0/1
    ("/api/sizing/estimate", {"stature": "170", "weight": 60}, 422),
    ("/api/sizing/estimate", {"stature": True, "weight": 60}, 422),
    ("/api/sizing/profiles", {"consent": 1, "body": BODY}, 422),
    ("/api/sizing/recommend", {"body": BODY, "chart_id": "tops-women", "consent": "yes"}, 422),
])
def test_bad_input_is_a_4xx_never_a_500(client, url, doc, status):
    r = post_raw(client, url, doc)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json" and len(r.content) < 4000


def test_bad_path_and_header_values_are_4xx(client):
    assert client.get("/api/sizing/profiles/" + "p" * 1000, headers={"X-Owner-Key": "k"}).status_code == 422
    assert client.get("/api/sizing/profiles/%ED%A0%80", headers={"X-Owner-Key": "k"}).status_code == 404
    assert client.get("/api/sizing/profiles/abc", headers={"X-Owner-Key": "k" * 1000}).status_code == 422
    assert client.get("/api/sizing/profiles/abc", headers={"X-Owner-Key": b"\xff\xfe"}).status_code == 404
    assert client.get("/api/sizing/charts/tops-women%00").status_code == 404
    assert client.get("/api/sizing/charts/" + "c" * 100).status_code == 422
