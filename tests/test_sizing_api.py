"""HTTP API of sizing: estimates, recommendations, shopper-readable errors, consent, export, erasure, logs."""

from __future__ import annotations

import logging
import sqlite3
import sys
import types
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.net.app import create_app

# Distinctive values, so that a leak into logs or storage is unmistakable.
BODY = {"sex": "female", "stature": 167.3, "weight": 61.7, "chest": 91.3, "hips": 99.1}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def client(data_dir: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=str(data_dir))))


def stored_rows(data_dir: Path) -> tuple[int, int]:
    path = data_dir / "sizing.sqlite3"
    if not path.exists():
        return 0, 0
    with sqlite3.connect(path) as db:
        return (db.execute("SELECT COUNT(*) FROM profiles").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])


def test_estimate_returns_every_measurement_with_uncertainty(client):
    r = client.post("/api/sizing/estimate", json={"sex": "male", "stature": 182, "weight": 84, "age": 35})
    assert r.status_code == 200
    est = r.json()["estimates"]
    assert est["stature"] == {"mean": 182, "std": 0.0, "unit": "cm", "entered": True}
    assert est["chest"]["entered"] is False and 0 < est["chest"]["std"] < 6
    assert 95 < est["chest"]["mean"] < 112 and est["weight"]["unit"] == "kg"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"stature": 300, "weight": 80}, "stature", "not possible for a person"),
        ({"stature": 1.8, "weight": 80}, "stature", "looks like metres"),
        ({"stature": 180, "weight": -5}, "weight", "must be more than 0"),
        ({"stature": 180, "weight": 80, "chest": 58, "neck": 62}, "neck", "cannot be as large as"),
        ({"weight": 80}, "stature", "tell us your height"),
    ],
)
def test_impossible_bodies_get_a_422_in_plain_words(client, body, field, words):
    r = client.post("/api/sizing/estimate", json={"sex": "male", **body})
    assert r.status_code == 422
    doc = r.json()
    assert words in doc["detail"]
    assert any(p["field"] == field for p in doc["errors"])


def test_unknown_chart_and_wrong_type_are_client_errors(client):
    r = client.post("/api/sizing/recommend", json={"body": BODY, "chart_id": "ballgowns"})
    assert r.status_code == 400 and "no size chart called 'ballgowns'" in r.json()["detail"]
    assert client.get("/api/sizing/charts/ballgowns").status_code == 404
    r = client.post("/api/sizing/estimate", json={"stature": "tall", "weight": 80})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "stature", "message": "Your height must be a number (you gave 'tall').",
                                   "code": "float_type"}]


@pytest.mark.parametrize(("request_body", "field", "words"), [
    ({"body": {**BODY, "sex": "x"}, "chart_id": "tops-women"}, "body.sex", "Body type (sex) must be 'male'"),
    ({"body": BODY, "chart_id": "tops-women", "fit": "baggy"}, "fit", "The fit style must be 'fitted', 'regular'"),
    ({"body": BODY, "chart_id": "tops-women", "usual_sizes": [{"chart_id": "tops-unisex"}]}, "usual_sizes.size",
     "The size is missing."),
    ({"body": BODY, "chart_id": "tops-women", "consent": "perhaps"}, "consent", "Consent must be true or false"),
])
def test_malformed_sizing_requests_are_answered_in_words_not_framework_detail(client, request_body, field, words):
    r = client.post("/api/sizing/recommend", json=request_body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["code"] == "invalid_request" and doc["type"] == "/problems/invalid_request"
    assert [p["field"] for p in doc["errors"]] == [field]
    assert words in doc["detail"] and words in doc["errors"][0]["message"]
    # deprecated extension members for the try-on client's errorFrom (reads `error`/`problems` until it moves)
    assert doc["error"] == doc["detail"]
    assert doc["problems"] == [{"field": field, "message": doc["errors"][0]["message"]}]


def test_unreadable_json_is_explained_and_other_apis_answer_in_the_same_shape(client):
    r = client.post("/api/sizing/recommend", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    assert r.json()["detail"].startswith("We could not read the request: it is not valid JSON")
    r = client.post("/api/rooms", json={"name": 5})  # framework validation elsewhere: the same problem shape
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body.name" and "input" not in r.json()["errors"][0]


def test_recommend_without_consent_answers_and_stores_nothing(client, data_dir):
    r = client.post("/api/sizing/recommend", json={"body": BODY, "chart_id": "tops-women", "fit": "regular"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["size"] == "M" and doc["stored"] is False and doc["profile_id"] is None
    assert doc["sentence"].startswith("M")
    assert {g["region"] for g in doc["avatar"]["garment"]} == {"chest", "waist", "hips", "shoulder", "length"}
    assert all(g["colour"].startswith("#") for g in doc["avatar"]["garment"])
    assert stored_rows(data_dir) == (0, 0)


def test_consent_profile_feedback_export_delete(client, data_dir):
    r = client.post("/api/sizing/profiles", json={"consent": False, "body": BODY})
    assert r.status_code == 400 and "only if you agree" in r.json()["detail"]
    assert stored_rows(data_dir) == (0, 0)

    r = client.post("/api/sizing/profiles", json={"consent": True, "body": BODY})
    assert r.status_code == 201
    pid, key = r.json()["profile_id"], r.json()["owner_key"]
    own = {"X-Owner-Key": key}

    assert client.get(f"/api/sizing/profiles/{pid}").status_code == 401
    assert client.get(f"/api/sizing/profiles/{pid}", headers={"X-Owner-Key": "guess"}).status_code == 404

    before = client.post("/api/sizing/recommend", json={"profile_id": pid, "chart_id": "bottoms-women"}, headers=own)
    r = client.post(f"/api/sizing/profiles/{pid}/feedback", headers=own,
                    json={"chart_id": "bottoms-women", "size": before.json()["size"], "verdict": "too_tight",
                          "region": "waist"})
    assert r.status_code == 200
    after = client.post("/api/sizing/recommend", json={"profile_id": pid, "chart_id": "bottoms-women"}, headers=own)
    waist = lambda resp: next(x for x in resp.json()["regions"] if x["region"] == "waist")["body_cm"]  # noqa: E731
    assert waist(after) > waist(before)

    export = client.get(f"/api/sizing/profiles/{pid}", headers=own).json()
    assert export["measurements"] == {k: v for k, v in BODY.items() if k != "sex"}
    assert export["feedback"][0]["verdict"] == "too_tight"
    assert export["estimate"]["waist"]["entered"] is False
    assert stored_rows(data_dir) == (1, 1)

    r = client.put(f"/api/sizing/profiles/{pid}", headers=own, json={**BODY, "waist": 79.5})
    assert r.status_code == 200
    assert client.get(f"/api/sizing/profiles/{pid}", headers=own).json()["measurements"]["waist"] == 79.5
    bad = client.put(f"/api/sizing/profiles/{pid}", headers=own, json={**BODY, "waist": 790})
    assert bad.status_code == 422 and "not possible" in bad.json()["detail"]

    assert client.delete(f"/api/sizing/profiles/{pid}", headers={"X-Owner-Key": "guess"}).status_code == 404
    assert client.delete(f"/api/sizing/profiles/{pid}", headers=own).json()["deleted"] is True
    assert stored_rows(data_dir) == (0, 0)
    assert client.get(f"/api/sizing/profiles/{pid}", headers=own).status_code == 404


def test_recommend_with_consent_creates_the_profile(client, data_dir):
    r = client.post("/api/sizing/recommend", json={"body": BODY, "chart_id": "dresses-women", "consent": True})
    doc = r.json()
    assert doc["stored"] is True and doc["owner_key"]
    assert stored_rows(data_dir) == (1, 0)
    export = client.get(f"/api/sizing/profiles/{doc['profile_id']}", headers={"X-Owner-Key": doc["owner_key"]})
    assert export.status_code == 200 and export.json()["measurements"]["chest"] == BODY["chest"]


def test_a_remark_on_a_measured_region_is_explained_and_leans_the_next_size(client):
    body = {"sex": "female", "stature": 165, "weight": 62, "chest": 92.5}  # near the top of M (88-94)
    doc = client.post("/api/sizing/profiles", json={"consent": True, "body": body}).json()
    own = {"X-Owner-Key": doc["owner_key"]}
    ask = {"profile_id": doc["profile_id"], "chart_id": "tops-women"}
    assert client.post("/api/sizing/recommend", json=ask, headers=own).json()["size"] == "M"
    r = client.post(f"/api/sizing/profiles/{doc['profile_id']}/feedback", headers=own,
                    json={"chart_id": "tops-women", "size": "M", "verdict": "too_tight", "region": "chest"})
    assert r.status_code == 200
    out = r.json()
    assert out["lean"] == 1 and "measured your chest (92.5 cm)" in out["message"]
    assert out["changed"]["chest"]["mean"] == 92.5 and out["changed"]["chest"]["entered"] is True
    after = client.post("/api/sizing/recommend", json=ask, headers=own).json()
    assert after["size"] == "L" and "felt tight" in after["sentence"]
    r = client.post(f"/api/sizing/profiles/{doc['profile_id']}/feedback", headers=own,
                    json={"chart_id": "tops-women", "size": "M", "verdict": "too_tight", "region": "waist"})
    assert "We now think your waist is about" in r.json()["message"] and r.json()["lean"] == 1


def test_a_usual_size_elsewhere_sharpens_the_recommendation_and_is_kept_only_with_consent(client, data_dir):
    body = {"sex": "female", "stature": 165, "weight": 62}
    plain = client.post("/api/sizing/recommend", json={"body": body, "chart_id": "tops-women"}).json()
    usual = [{"chart_id": "tops-unisex", "size": "M"}]  # chest 96-104 there: a fuller bust than average
    sharper = client.post("/api/sizing/recommend",
                          json={"body": body, "chart_id": "tops-women", "usual_sizes": usual}).json()
    chest = lambda doc: next(r for r in doc["regions"] if r["region"] == "chest")  # noqa: E731
    assert chest(sharper)["body_cm"] > chest(plain)["body_cm"] + 2
    assert chest(sharper)["body_sd_cm"] < chest(plain)["body_sd_cm"]
    assert sharper["confidence"] > plain["confidence"]
    estimated = client.post("/api/sizing/estimate", json={**body, "usual_sizes": usual}).json()["estimates"]["chest"]
    assert estimated["mean"] == pytest.approx(chest(sharper)["body_cm"], abs=0.1)  # the mannequin agrees
    assert stored_rows(data_dir) == (0, 0)

    bad = client.post("/api/sizing/recommend", json={"body": body, "chart_id": "tops-women", "consent": True,
                                                     "usual_sizes": [{"chart_id": "tops-unisex", "size": "Q"}]})
    assert bad.status_code == 400 and "does not exist" in bad.json()["detail"]
    assert stored_rows(data_dir) == (0, 0)  # refused before anything was stored

    kept = client.post("/api/sizing/recommend", json={"body": body, "chart_id": "tops-women", "consent": True,
                                                      "usual_sizes": usual}).json()
    assert stored_rows(data_dir) == (1, 1)
    export = client.get(f"/api/sizing/profiles/{kept['profile_id']}", headers={"X-Owner-Key": kept["owner_key"]})
    assert export.json()["feedback"][0] | {"at": 0} == {"at": 0, "chart_id": "tops-unisex", "size": "M",
                                                        "fit": "regular", "region": None, "verdict": "fits"}


def test_bad_feedback_is_explained(client):
    pid_doc = client.post("/api/sizing/profiles", json={"consent": True, "body": BODY}).json()
    own = {"X-Owner-Key": pid_doc["owner_key"]}
    url = f"/api/sizing/profiles/{pid_doc['profile_id']}/feedback"
    r = client.post(url, headers=own, json={"chart_id": "tops-women", "size": "XXXXL", "verdict": "fits"})
    assert r.status_code == 400 and "does not exist" in r.json()["detail"]
    r = client.post(url, headers=own, json={"chart_id": "tops-women", "size": "M", "verdict": "meh"})
    assert r.status_code == 422


def test_body_data_never_reaches_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    r = client.post("/api/sizing/recommend", json={"body": BODY, "chart_id": "tops-women", "consent": True})
    doc = r.json()
    own = {"X-Owner-Key": doc["owner_key"]}
    client.post(f"/api/sizing/profiles/{doc['profile_id']}/feedback", headers=own,
                json={"chart_id": "tops-women", "size": "M", "verdict": "fits"})
    client.get(f"/api/sizing/profiles/{doc['profile_id']}", headers=own)
    client.post("/api/sizing/estimate", json={"stature": 301.7, "weight": 61.7})
    client.delete(f"/api/sizing/profiles/{doc['profile_id']}", headers=own)
    text = "\n".join(rec.getMessage() + repr(rec.args) for rec in caplog.records)
    for secret in ("167.3", "61.7", "91.3", "99.1", "301.7", doc["owner_key"]):
        assert secret not in text


def test_furniture_endpoint_and_its_errors(client):
    room, door = {"width": 400, "depth": 350, "height": 250}, {"width": 80, "height": 200}
    r = client.post("/api/sizing/furniture-fit", json={"room": room, "doorway": door,
                                                       "item": {"width": 220, "depth": 95, "height": 85}})
    assert r.status_code == 200 and r.json()["fits_room"] and not r.json()["passes_door"]
    r = client.post("/api/sizing/furniture-fit", json={"room": room, "doorway": {"width": -80, "height": 200},
                                                       "item": {"width": 1, "depth": 1, "height": 1}})
    assert r.status_code == 422 and "doorway width" in r.json()["detail"]
    r = client.post("/api/sizing/furniture-fit", json={"room": room, "doorway": door})
    assert r.status_code == 400


def fake_catalog(products: dict[str, object]) -> types.ModuleType:
    module = types.ModuleType("server.commerce.catalog")

    class Catalog:
        def get(self, product_id: str) -> object | None:
            return products.get(product_id)

    module.load_catalog = Catalog  # type: ignore[attr-defined]
    return module


def test_recommend_and_furniture_by_product_id(client, monkeypatch):
    products = {
        "oxford-shirt": types.SimpleNamespace(name="Oxford shirt", size_chart="tops-men", fit="fitted",
                                              dimensions_cm=None),
        "sofa": types.SimpleNamespace(name="Sofa", size_chart=None, fit=None,
                                      dimensions_cm={"width": 220, "depth": 95, "height": 82}),
    }
    monkeypatch.setitem(sys.modules, "server.commerce.catalog", fake_catalog(products))
    r = client.post("/api/sizing/recommend", json={"body": {"sex": "male", "stature": 180, "weight": 80},
                                                   "product_id": "oxford-shirt"})
    assert r.status_code == 200 and (r.json()["chart_id"], r.json()["fit"]) == ("tops-men", "fitted")
    r = client.post("/api/sizing/recommend", json={"body": BODY, "product_id": "sofa"})
    assert r.status_code == 400 and "not sold in sizes" in r.json()["detail"]
    r = client.post("/api/sizing/furniture-fit", json={"room": {"width": 400, "depth": 350, "height": 250},
                                                       "doorway": {"width": 90, "height": 200}, "product_id": "sofa"})
    assert r.status_code == 200 and r.json()["fits"] is True
    r = client.post("/api/sizing/recommend", json={"body": BODY, "product_id": "nothing"})
    assert r.status_code == 404


def test_without_a_catalog_product_lookup_falls_back_cleanly(client, monkeypatch):
    monkeypatch.setitem(sys.modules, "server.commerce.catalog", None)  # import now raises ModuleNotFoundError
    r = client.post("/api/sizing/recommend", json={"body": BODY, "product_id": "oxford-shirt"})
    assert r.status_code == 400 and "chart_id" in r.json()["detail"]


def test_openapi_documents_the_sizing_api(client):
    spec = client.get("/openapi.json").json()
    paths = {p for p in spec["paths"] if p.startswith("/api/sizing")}
    assert {"/api/sizing/estimate", "/api/sizing/recommend", "/api/sizing/profiles/{profile_id}",
            "/api/sizing/furniture-fit"} <= paths
    body = spec["components"]["schemas"]["Body"]["properties"]
    assert "height" in body["stature"]["description"]
