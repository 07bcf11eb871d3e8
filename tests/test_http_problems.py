"""One error shape for every HTTP API (RFC 9457 problem details), documented on every operation."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.net.app import create_app
from server.net.problems import MEDIA_TYPE, Problem

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors"}


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    return create_app(Settings(data_dir=str(tmp_path), operator_token="op-token"))


@pytest.fixture
def client(app):
    return TestClient(app)


def assert_problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == MEDIA_TYPE
    doc = r.json()
    assert set(doc) >= PROBLEM_KEYS
    assert (doc["status"], doc["code"], doc["type"]) == (status, code, f"/problems/{code}")
    assert r.headers["cache-control"] == "no-store"
    return doc


def test_validation_errors_list_fields_and_never_echo_the_input(client):
    big = "x" * 600_000  # under the body limit, far over the field's 60 characters
    r = client.post("/api/rooms", json={"name": big, "capacity": "many"})
    doc = assert_problem(r, 422, "invalid_request")
    assert len(r.content) < 2_000 and "xxxxxxxxxx" not in r.text and "many" not in r.text
    assert {e["field"] for e in doc["errors"]} == {"body.name", "body.capacity"}
    assert all(set(e) == {"field", "message", "code"} for e in doc["errors"])
    assert {e["code"] for e in doc["errors"]} == {"string_too_long", "int_type"}  # strict: no "many" -> int


def test_a_list_of_many_bad_items_gets_a_bounded_answer(client):
    r = client.post("/api/sizing/estimate", json={"stature": 170, "weight": 60,
                                                   "usual_sizes": [{"chart_id": 5}] * 2000})
    doc = assert_problem(r, 422, "invalid_request")
    assert len(doc["errors"]) <= 20 and len(r.content) < 8_000


def test_framework_http_errors_become_problems(client):
    doc = assert_problem(client.get("/api/products/nope"), 404, "not_found")
    assert "No product with id 'nope'" in doc["detail"]  # the route's own sentence is kept
    assert_problem(client.get("/no/such/page"), 404, "not_found")
    r = client.delete("/api/rooms")
    assert_problem(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]


def test_a_raised_problem_keeps_its_code_and_headers(app):
    @app.get("/test-problem")
    def raises() -> None:
        raise Problem(429, "rate_limited", "slow down", headers={"Retry-After": "7"})

    r = TestClient(app).get("/test-problem")
    assert assert_problem(r, 429, "rate_limited")["detail"] == "slow down"
    assert r.headers["retry-after"] == "7"


def test_a_crash_is_a_500_problem_without_traceback_or_request_data(app, caplog):
    @app.post("/test-crash")
    async def crash(body: dict) -> None:
        raise ValueError(f"bad value {body['secret']}")

    caplog.set_level(logging.DEBUG)
    r = TestClient(app).post("/test-crash", json={"secret": "s3cr3t-value"})
    doc = assert_problem(r, 500, "internal_error")
    assert "Traceback" not in r.text and "s3cr3t" not in r.text and "ValueError" not in r.text
    assert doc["errors"] == []
    logged = "\n".join(rec.getMessage() + str(rec.exc_text or "") for rec in caplog.records)
    assert "ValueError" in logged and "POST /test-crash" in logged
    assert sum("unhandled ValueError" in rec.getMessage() for rec in caplog.records) == 1  # logged once
    assert "s3cr3t" not in logged


def test_openapi_documents_the_problem_answers_of_every_operation(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["ProblemDetails"]["properties"]) == PROBLEM_KEYS
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(operations) > 20
    for path, method, op in operations:
        wanted = {"400", "413", "422"} | ({"404"} if "{" in path else set())
        credentials = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"} & {
            "X-Owner-Key", "X-Shopper-Key"}
        if path.startswith("/api/mocap") or credentials:
            wanted.add("401")
        if (method, path) in {("post", "/api/sizing/profiles"), ("post", "/api/sizing/recommend")}:
            wanted.add("429")
        assert wanted <= set(op["responses"]), (method, path, sorted(op["responses"]))
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
