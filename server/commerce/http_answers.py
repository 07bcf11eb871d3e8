"""What every money-moving HTTP API (shop, co-shopping, promotions) answers with: JSON nobody caches, and a
`ShopError` (or a subclass, like `SocialError`) turned into its RFC 9457 problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse

from server.commerce.shop import ShopError
from server.net.problems import Problem


def no_store(body: Any, status: int = 200) -> JSONResponse:
    """A JSON answer about one shopper's state: never cached by a browser or a proxy."""
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def as_problem(fn: Callable[[], Awaitable[Any]]) -> Any:
    """Awaits `fn()`; a refusal of the rules becomes the problem details of its status and stable code."""
    try:
        return await fn()
    except ShopError as exc:
        raise Problem(exc.status, exc.code, exc.message) from None
