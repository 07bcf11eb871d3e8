"""The one limits table: the doc shows it, the welcome sends it, the code reads it."""

from __future__ import annotations

from server import limits
from server.net.session import LIMITS
from server.realtime.registry import JOIN_TOKEN_TTL_S, MAX_ROOM_SIZE


def test_protocol_doc_shows_the_limits_table_as_the_code_has_it():
    text = limits.DOC.read_text()
    assert limits.doc_with_table(text) == text, "run: .venv/bin/python -m server.limits"
    for limit in limits.TABLE.values():
        assert f"`{limit.name}`" in text


def test_welcome_and_code_read_the_same_values():
    assert {name: int(limits.get(name)) for name in limits.CLIENT_FACING} == LIMITS
    assert limits.get("max_room_size") == MAX_ROOM_SIZE and limits.get("join_token_ttl_s") == JOIN_TOKEN_TTL_S
    assert set(limits.TABLE) >= limits.OPERATOR_EXEMPT
