"""Payments adapter: the shape a real provider plugs into, and the built-in local test provider.

A provider takes a charge under an idempotency key (the same key never charges twice, whatever the retries),
may answer `requires_action` (an extra confirmation step, like 3-D Secure), can void an unfinished charge and
refund a finished one. Card data never reaches Plaza: the client names a payment method token.

Test methods (docs/COMMERCE.md):
| method | outcome |
| --- | --- |
| `test_approve` | succeeds |
| `test_decline` | declined, `card_declined` |
| `test_insufficient_funds` | declined, `insufficient_funds` |
| `test_timeout` | never answers (`pending`); the checkout voids it after its payment window |
| `test_approve_after_retry` | the first attempt fails with a transient error, a retry with the same key succeeds |
| `test_needs_action` | `requires_action`; completing the action with code `000000` succeeds, another code declines |
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from server.storage import Storage, VersionConflict

TEST_METHODS = ("test_approve", "test_decline", "test_insufficient_funds", "test_timeout",
                "test_approve_after_retry", "test_needs_action")
ACTION_CODE = "000000"


class PaymentUnavailable(Exception):
    """A transient failure talking to the provider: retry with the same idempotency key."""


@dataclass(frozen=True)
class PaymentResult:
    status: str  # succeeded | declined | requires_action | pending | voided
    intent_id: str
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "id": self.intent_id, "reason": self.reason}


class PaymentProvider(Protocol):
    async def charge(self, key: str, amount_minor: int, currency: str, method: str) -> PaymentResult: ...

    async def complete_action(self, key: str, code: str) -> PaymentResult: ...

    async def void(self, key: str) -> PaymentResult: ...

    async def refund(self, key: str, amount_minor: int) -> PaymentResult: ...

    def accepts(self, method: str) -> bool: ...


class TestProvider:
    """The local test provider. Its ledger lives in storage (kind `payment`), so it is durable and shared by
    every server process; `charges` counts money actually taken, for the proofs."""

    __test__ = False  # not a pytest class

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def accepts(self, method: str) -> bool:
        return method in TEST_METHODS

    async def _update(self, key: str, change) -> dict[str, Any]:
        """Read-modify-write the intent under compare-and-set (concurrent retries of one key serialise here)."""
        while True:
            doc = await self.storage.get("payment", key)
            value, version = (dict(doc.value), doc.version) if doc else ({}, 0)
            new = change(value)
            if new is None:
                return value
            try:
                await self.storage.put("payment", key, new, version)
                return new
            except VersionConflict:
                continue

    async def charge(self, key: str, amount_minor: int, currency: str, method: str) -> PaymentResult:
        if not self.accepts(method):
            return PaymentResult("declined", "", "unknown_payment_method")

        def start(intent: dict[str, Any]) -> dict[str, Any] | None:
            if intent.get("status") in ("succeeded", "declined", "requires_action", "voided", "refunded"):
                return None  # answered before: the same answer, nothing taken again
            attempts = intent.get("attempts", 0) + 1
            base = {"id": intent.get("id") or "pi_" + secrets.token_urlsafe(9), "amount_minor": amount_minor,
                    "currency": currency, "method": method, "attempts": attempts}
            if method == "test_approve" or (method == "test_approve_after_retry" and attempts > 1):
                return base | {"status": "succeeded", "captured_minor": amount_minor}
            if method == "test_approve_after_retry":
                return base | {"status": "unavailable"}
            if method == "test_decline":
                return base | {"status": "declined", "reason": "card_declined"}
            if method == "test_insufficient_funds":
                return base | {"status": "declined", "reason": "insufficient_funds"}
            if method == "test_needs_action":
                return base | {"status": "requires_action"}
            return base | {"status": "pending"}  # test_timeout

        intent = await self._update(key, start)
        if intent.get("status") == "unavailable":
            raise PaymentUnavailable("the payment provider did not answer; retry")
        return PaymentResult(intent["status"], intent["id"], intent.get("reason"))

    async def complete_action(self, key: str, code: str) -> PaymentResult:
        def act(intent: dict[str, Any]) -> dict[str, Any] | None:
            if intent.get("status") != "requires_action":
                return None
            if secrets.compare_digest(code, ACTION_CODE):
                return intent | {"status": "succeeded", "captured_minor": intent["amount_minor"]}
            return intent | {"status": "declined", "reason": "authentication_failed"}

        intent = await self._update(key, act)
        if not intent:
            return PaymentResult("declined", "", "no_such_payment")
        return PaymentResult(intent["status"], intent["id"], intent.get("reason"))

    async def void(self, key: str) -> PaymentResult:
        def cancel(intent: dict[str, Any]) -> dict[str, Any] | None:
            if intent.get("status") in ("pending", "requires_action", "unavailable"):
                return intent | {"status": "voided"}
            return None

        intent = await self._update(key, cancel)
        return PaymentResult(intent.get("status", "voided"), intent.get("id", ""), intent.get("reason"))

    async def refund(self, key: str, amount_minor: int) -> PaymentResult:
        def give_back(intent: dict[str, Any]) -> dict[str, Any] | None:
            if intent.get("status") != "succeeded":
                return None
            refunded = intent.get("refunded_minor", 0) + amount_minor
            if refunded > intent.get("captured_minor", 0):
                return None
            return intent | {"refunded_minor": refunded,
                             "status": "refunded" if refunded == intent["captured_minor"] else "succeeded"}

        intent = await self._update(key, give_back)
        return PaymentResult(intent.get("status", "declined"), intent.get("id", ""), intent.get("reason"))

    async def captured_minor(self, key: str) -> int:
        doc = await self.storage.get("payment", key)
        if doc is None or doc.value.get("status") not in ("succeeded", "refunded"):
            return 0
        return doc.value.get("captured_minor", 0) - doc.value.get("refunded_minor", 0)
