"""Consented body profiles in SQLite: create, read (export), add feedback, erase. Blocking; call off the loop.

A profile is keyed by a random id and guarded by a secret owner key that is returned once at creation;
only its SHA-256 is stored. Nothing here logs body data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from server.sizing.feedback import Feedback

DB_NAME = "sizing.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY,
    owner_key_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sex TEXT,
    measurements TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    chart_id TEXT NOT NULL,
    size TEXT NOT NULL,
    fit TEXT NOT NULL,
    region TEXT,
    verdict TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_profile ON feedback(profile_id);
"""


class ProfileNotFound(LookupError):
    """No such profile, or the owner key does not match (the two are not told apart, on purpose)."""


@dataclass
class Profile:
    id: str
    sex: str | None
    measurements: dict[str, float]
    created_at: float
    updated_at: float
    feedback: list[tuple[float, Feedback]] = field(default_factory=list)

    def export(self) -> dict[str, object]:
        return {
            "profile_id": self.id,
            "sex": self.sex,
            "measurements": self.measurements,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "feedback": [
                {"at": at, "chart_id": f.chart_id, "size": f.size, "fit": f.fit, "region": f.region,
                 "verdict": f.verdict}
                for at, f in self.feedback
            ],
        }


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ProfileStore:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction per call
                yield db
        finally:
            db.close()

    def create(self, sex: str | None, measurements: Mapping[str, float], now: float) -> tuple[str, str]:
        """-> (profile id, owner key). The key is shown once; only its hash is kept."""
        profile_id = secrets.token_urlsafe(12)
        owner_key = secrets.token_urlsafe(24)
        with self._connect() as db:
            db.execute(
                "INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?)",
                (profile_id, _hash(owner_key), now, now, sex, json.dumps(dict(measurements))),
            )
        return profile_id, owner_key

    def _check(self, db: sqlite3.Connection, profile_id: str, owner_key: str) -> sqlite3.Row | tuple:
        row = db.execute("SELECT * FROM profiles WHERE id = ?", (profile_id,)).fetchone()
        if row is None or not hmac.compare_digest(row[1], _hash(owner_key)):
            raise ProfileNotFound(profile_id)
        return row

    def get(self, profile_id: str, owner_key: str) -> Profile:
        with self._connect() as db:
            row = self._check(db, profile_id, owner_key)
            fb = db.execute(
                "SELECT at, chart_id, size, fit, region, verdict FROM feedback WHERE profile_id = ? ORDER BY at, rowid",
                (profile_id,),
            ).fetchall()
        return Profile(
            id=row[0],
            sex=row[4],
            measurements=json.loads(row[5]),
            created_at=row[2],
            updated_at=row[3],
            feedback=[(r[0], Feedback(chart_id=r[1], size=r[2], fit=r[3], region=r[4], verdict=r[5])) for r in fb],
        )

    def update_measurements(self, profile_id: str, owner_key: str, measurements: Mapping[str, float],
                            now: float) -> None:
        with self._connect() as db:
            self._check(db, profile_id, owner_key)
            db.execute("UPDATE profiles SET measurements = ?, updated_at = ? WHERE id = ?",
                       (json.dumps(dict(measurements)), now, profile_id))

    def add_feedback(self, profile_id: str, owner_key: str, feedback: Feedback, now: float) -> None:
        with self._connect() as db:
            self._check(db, profile_id, owner_key)
            db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
                (profile_id, now, feedback.chart_id, feedback.size, feedback.fit, feedback.region, feedback.verdict),
            )
            db.execute("UPDATE profiles SET updated_at = ? WHERE id = ?", (now, profile_id))

    def delete(self, profile_id: str, owner_key: str) -> None:
        with self._connect() as db:
            self._check(db, profile_id, owner_key)
            db.execute("DELETE FROM feedback WHERE profile_id = ?", (profile_id,))
            db.execute("DELETE FROM profiles WHERE id = ?", (profile_id,))

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM profiles").fetchone()[0])
