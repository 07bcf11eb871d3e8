"""HTTP request guard: a pure ASGI middleware in front of the whole application (outside Starlette's own
error middleware), so that no route, handler or framework code sees a request it cannot answer sanely.

- Request bodies are limited to `max_body_bytes`: a larger Content-Length is answered 413 before anything is
  read; a chunked or streamed body is counted and cut at the limit (413, connection closed).
- A JSON body (application/json, application/*+json, or no Content-Type, which FastAPI also parses as JSON)
  must be strict RFC 8259 JSON in UTF-8: no NaN/Infinity, no number that overflows a double (1e400), no lone
  surrogate escape ("\\ud800"), nesting at most MAX_JSON_DEPTH; otherwise 400 `malformed_json`. The checked
  body is replayed to the application unchanged.
- A `Range` header that is not a well-formed `bytes=` range with numbers of at most 15 digits is dropped
  (RFC 9110 lets a server ignore Range; a 5,000-digit number used to reach int parsing and answer 500).
- An exception that escapes the application after its 500 answer is logged by type and stack, never with
  its message (which may quote the request), and not re-raised into the server's own error log.

Websocket and lifespan scopes pass through untouched (and /ws is routed around the app by serve.py anyway).
"""

from __future__ import annotations

import json
import logging
import math
import re
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from server import limits
from server.net.problems import Problem

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 64
_RANGE = re.compile(rb"bytes=(?:\d{1,15}-\d{0,15}|-\d{1,15})(?:[ \t]*,[ \t]*(?:\d{1,15}-\d{0,15}|-\d{1,15}))*")
_MAX_FLOAT_INT = 2**1024  # an integer literal at least this large overflows a double, like 1e400


class MalformedJson(ValueError):
    pass


def range_is_valid(value: bytes) -> bool:
    return _RANGE.fullmatch(value.strip()) is not None


def _reject_constant(name: str) -> float:
    raise MalformedJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedJson(f"the number {text[:20]} is too large")
    return value


def _bounded_int(text: str) -> int:
    value = int(text)  # Python's own 4,300-digit limit raises ValueError first for absurd literals
    if abs(value) >= _MAX_FLOAT_INT:
        raise MalformedJson("an integer is too large")
    return value


def _check_strings_and_depth(doc: Any) -> None:
    """Iteratively (no recursion on hostile input): no lone surrogate in any string or key, bounded depth."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedJson("a string contains a lone surrogate (\\ud800-\\udfff)") from None
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedJson(f"nested deeper than {MAX_JSON_DEPTH} levels")
            items = node.items() if isinstance(node, dict) else ((None, v) for v in node)
            for key, value in items:
                if key is not None:
                    stack.append((key, depth))
                stack.append((value, depth + 1))


def check_json(body: bytes) -> None:
    """Raise MalformedJson unless `body` is strict JSON (see the module docstring)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson("the body is not valid UTF-8") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except MalformedJson:
        raise
    except RecursionError:
        raise MalformedJson(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, and int()'s digit limit
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise MalformedJson(f"it is not valid JSON{where}") from None
    _check_strings_and_depth(doc)


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True  # FastAPI parses a body without Content-Type as JSON
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class HttpGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = int(max_body_bytes if max_body_bytes is not None else limits.get("max_body_bytes"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._handle(scope, receive, tracking_send)
        except Exception as exc:  # the last line: never a traceback with request data in it
            if getattr(exc, "plaza_logged", False):  # answered and logged by the app's 500 handler
                return
            log.error("unhandled %s in %s %s\n%s", type(exc).__name__, scope.get("method"),
                      getattr(scope.get("route"), "path", "?"), "".join(traceback.format_tb(exc.__traceback__)))
            if not started:
                await self._problem(scope, receive, send, Problem(
                    500, "internal_error", "Something went wrong on our side; please try again."))

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers") or []
        content_length: bytes | None = None
        content_type: bytes | None = None
        kept = []
        for name, value in headers:
            if name == b"range" and not range_is_valid(value):
                continue  # ignored, as RFC 9110 allows: the whole representation is sent instead
            if name == b"content-length":
                content_length = value
            elif name == b"content-type":
                content_type = value
            kept.append((name, value))
        if len(kept) != len(headers):
            scope = dict(scope, headers=kept)
        if content_length is not None:
            text = content_length.strip()
            if not text.isdigit() or len(text) > 15:
                await self._problem(scope, receive, send, Problem(
                    400, "bad_request", "The Content-Length header is not a number."))
                return
            if int(text) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before the body was complete
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        if body and _is_json(content_type):
            try:
                check_json(bytes(body))
            except MalformedJson as exc:
                await self._problem(scope, receive, send, Problem(
                    400, "malformed_json", f"We could not read the request: {exc}."))
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = Problem(413, "body_too_large", f"The request body is larger than {self.max_body_bytes} bytes.",
                          headers={"Connection": "close"})
        await self._problem(scope, receive, send, problem)

    @staticmethod
    async def _problem(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        await problem.response()(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The checked body as one message, then the server's own receive (disconnect notices)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: Any, max_body_bytes: int | None = None) -> None:
    """Put the guard outside the app's whole middleware stack (Starlette's ServerErrorMiddleware included)."""
    build = app.build_middleware_stack

    def build_guarded() -> ASGIApp:
        return HttpGuard(build(), max_body_bytes)

    app.build_middleware_stack = build_guarded
