"""What the server promised to keep survives a restart: API rooms, the signing secret, the operator token."""

from __future__ import annotations

import os
import stat

from fastapi.testclient import TestClient

from server.cli import _kept_secrets
from server.config import Settings
from server.net.app import create_app


def test_a_room_answered_201_is_there_after_a_restart(tmp_path, monkeypatch):
    monkeypatch.delenv("PLAZA_SECRET", raising=False)
    monkeypatch.delenv("PLAZA_OPERATOR_TOKEN", raising=False)
    settings = dict(data_dir=str(tmp_path), persist_state=True, **_kept_secrets(str(tmp_path)))
    with TestClient(create_app(Settings(**settings))) as client:
        created = client.post("/api/rooms", json={"name": "Launch party", "private": True, "capacity": 30})
        assert created.status_code == 201
        room = created.json()
    with TestClient(create_app(Settings(**dict(settings, **_kept_secrets(str(tmp_path)))))) as client:
        joined = client.post(f"/api/rooms/{room['id']}/join", json={"name": "ann", "invite_code": room["invite_code"]})
        assert joined.status_code == 200
        assert client.get("/api/rooms/main").status_code == 200


def test_secrets_are_generated_once_owner_only_and_reused(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PLAZA_SECRET", raising=False)
    monkeypatch.delenv("PLAZA_OPERATOR_TOKEN", raising=False)
    first = _kept_secrets(str(tmp_path))
    printed = capsys.readouterr().err
    assert first["operator_token"] in printed  # printed once, at creation
    second = _kept_secrets(str(tmp_path))
    assert second == first and second["operator_token"] not in capsys.readouterr().err
    for name in ("server_secret", "operator_token"):
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    monkeypatch.setenv("PLAZA_OPERATOR_TOKEN", "from-env")
    assert _kept_secrets(str(tmp_path))["operator_token"] == "from-env"


def test_operator_checks_need_the_exact_token():
    settings = Settings(operator_token="s3cret")
    assert settings.is_operator("Bearer s3cret")
    assert not settings.is_operator("Bearer s3cre") and not settings.is_operator(None)
    assert not Settings(operator_token="").is_operator("Bearer ")
