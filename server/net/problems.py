"""One error shape for every HTTP API: RFC 9457 problem details (`application/problem+json`).

Raise `Problem(status, code, detail, errors=...)` anywhere in a route; `install(app)` turns it (and the
framework's own HTTP and validation errors) into a problem document:
`{"type": "/problems/<code>", "title", "status", "detail", "code", "errors": [{"field", "message", ...}]}`.
`code` is the stable machine-readable name clients switch on; `type` is the same as a URI reference.
"""

from __future__ import annotations

import contextlib
import json
import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

MEDIA_TYPE = "application/problem+json"

# Titles for codes derived from a bare HTTP status (RFC 9110 reason phrases, shortened).
STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("body_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    416: ("range_not_satisfiable", "Range not satisfiable"),
    422: ("invalid_request", "The request is not valid"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal_error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, dotted (`body.name`, `query.limit`)")
    message: str = Field(description="What is wrong, in words a person can act on")
    code: str | None = Field(default=None, description="Machine-readable kind of problem")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with Plaza's `code` and per-field `errors` extension members."""

    type: str = Field(description="URI reference naming the problem type: `/problems/<code>`")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="This occurrence, explained")
    code: str = Field(description="Stable machine-readable problem code")
    errors: list[FieldError] = Field(default_factory=list, description="Per-field problems, if any")


class Problem(Exception):
    """An HTTP error answered as problem details. `headers` (e.g. Retry-After) are added to the response."""

    def __init__(self, status: int, code: str, detail: str, *, title: str | None = None,
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.title = title or STATUS_CODES.get(status, (code, code.replace("_", " ").capitalize()))[1]
        self.errors = errors or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"type": f"/problems/{self.code}", "title": self.title, "status": self.status,
                "detail": self.detail, "code": self.code, "errors": self.errors}

    def response(self) -> JSONResponse:
        return _response(self)


def problem_response(status: int, code: str, detail: str, **kwargs: Any) -> JSONResponse:
    return Problem(status, code, detail, **kwargs).response()


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem answers for these statuses."""
    return {
        status: {"description": STATUS_CODES.get(status, ("", "Error"))[1], "model": ProblemDetails,
                 "content": {MEDIA_TYPE: {}}}
        for status in statuses
    }


# ---- installation: handlers, OpenAPI ---------------------------------------------------------------------

log = logging.getLogger(__name__)

MAX_FIELD_ERRORS = 20  # a 10,000-item list of bad values gets 20 explained, not a 10,000-line answer
MAX_TEXT = 300  # characters of one message or field path (they never contain the input, but bound them anyway)

# Statuses every operation can answer: the guard's 400 (malformed JSON) and 413 (body too large), and 422.
COMMON_STATUSES = (400, 413, 422)
AUTH_STATUS, NOT_FOUND_STATUS, RATE_LIMITED_STATUS = 401, 404, 429

FieldMessages = Callable[[Mapping[str, Any]], dict[str, str]]


class ProblemJSONResponse(JSONResponse):
    """JSON with a lone surrogate replaced instead of a UnicodeEncodeError (a 500 while answering a 4xx)."""

    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
            "utf-8", "replace")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _response(problem: Problem, request: Request | None = None) -> ProblemJSONResponse:
    # Errors are never cached: some carry what the shopper sent (a measurement in a sizing sentence).
    headers = {"Cache-Control": "no-store", **problem.headers}
    body = problem.body()
    if request is not None:
        for prefix, members in getattr(request.app.state, "problem_extra_members", {}).items():
            if request.url.path.startswith(prefix):
                body = {**members(body), **body}
    return ProblemJSONResponse(body, status_code=problem.status, headers=headers)


def extra_members(app: FastAPI, prefix: str, members: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Add RFC 9457 extension members to the problems answered under `prefix` (`members(body) -> dict`); the
    standard members always win. For a client that still reads an older error shape while it moves over."""
    if not hasattr(app.state, "problem_extra_members"):
        app.state.problem_extra_members = {}
    app.state.problem_extra_members[prefix] = members


def from_status(status: int, detail: str | None = None, headers: Mapping[str, str] | None = None) -> Problem:
    code, title = STATUS_CODES.get(status, ("internal_error" if status >= 500 else "bad_request", "Error"))
    return Problem(status, code, _clip(detail or title), title=title, headers=dict(headers or {}))


def _field(loc: Sequence[Any]) -> str:
    return _clip(".".join(str(part) for part in loc))


def default_field_error(err: Mapping[str, Any]) -> dict[str, str]:
    """One framework validation error without its `input` (never echoed: a 50 MB body made a 52 MB answer)."""
    return {"field": _field(err.get("loc", ())), "message": _clip(str(err.get("msg", "is not valid"))),
            "code": str(err.get("type", "invalid"))}


def validation_problem(request: Request, exc: RequestValidationError) -> Problem:
    raw = list(exc.errors())
    # Sentences written for people (e.g. the sizing API's) take over their path prefix.
    convert = default_field_error
    for prefix, fn in getattr(request.app.state, "problem_field_messages", {}).items():
        if request.url.path.startswith(prefix):
            convert = fn
    errors = []
    for err in raw[:MAX_FIELD_ERRORS]:
        item = {"code": str(err.get("type", "invalid")), **convert(err)}
        errors.append({k: _clip(v) for k, v in item.items()})
    more = f" (and {len(raw) - MAX_FIELD_ERRORS} more)" if len(raw) > MAX_FIELD_ERRORS else ""
    if convert is default_field_error:
        detail = "The request is not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    else:
        detail = " ".join(e["message"] for e in errors)
    return Problem(422, "invalid_request", _clip(detail) + more, errors=errors)


def field_messages(app: FastAPI, prefix: str, fn: FieldMessages) -> None:
    """Explain validation errors under `prefix` with `fn(err) -> {"field", "message"}` (still a problem)."""
    if not hasattr(app.state, "problem_field_messages"):
        app.state.problem_field_messages = {}
    app.state.problem_field_messages[prefix] = fn


def _allowed_methods(request: Request) -> str:
    """Every method the path answers: Starlette's 405 names only the first route that matched (FastAPI makes one
    route per method), so each method is tried against the app's routes."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _where(request: Request) -> str:
    # The route template, not the URL: paths carry ids, and nothing of the request goes to the log.
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '?')}"


def _storage_down(exc: BaseException) -> bool:
    """A storage backend that cannot be reached (not a bug): Redis connection loss or timeout, SQLite busy."""
    import sqlite3

    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a dependency
        return isinstance(exc, sqlite3.OperationalError)
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | sqlite3.OperationalError)


def install(app: FastAPI) -> None:
    """Answer every error of `app` as problem details, and document them in its OpenAPI schema."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return _response(exc, request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return _response(from_status(exc.status_code, detail, headers), request)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _response(validation_problem(request, exc), request)

    async def on_crash(request: Request, exc: Exception) -> Response:
        if _storage_down(exc):  # Redis restarting, SQLite locked past its timeout: try again shortly
            log.warning("storage unavailable in %s: %s", _where(request), type(exc).__name__)
            return _response(Problem(503, "storage_unavailable", "The store's records are out of reach for a "
                                     "moment; please try again in a few seconds.", headers={"Retry-After": "2"}))
        # Type and stack only: an exception's message may quote the request (a body value, a key).
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unhandled %s in %s\n%s", type(exc).__name__, _where(request), stack)
        with contextlib.suppress(AttributeError):
            exc.plaza_logged = True  # type: ignore[attr-defined]  # Starlette re-raises it; the guard stays quiet
        return _response(Problem(500, "internal_error", "Something went wrong on our side; please try again."))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(Exception, on_crash)
    _document(app)


# ---- OpenAPI --------------------------------------------------------------------------------------------

_REF = "#/components/schemas/ProblemDetails"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    title = STATUS_CODES.get(status, ("", "Error"))[1]
    return {"description": description or title, "content": {MEDIA_TYPE: {"schema": {"$ref": _REF}}}}


def problem_statuses(path: str, operation: Mapping[str, Any]) -> set[int]:
    """The problem statuses an operation can answer (besides any it declares itself)."""
    statuses = set(COMMON_STATUSES)
    if "{" in path:
        statuses.add(NOT_FOUND_STATUS)
    return statuses


def openapi_with_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Every operation documents its problem answers as `application/problem+json` with ProblemDetails;
    FastAPI's default 422 (`HTTPValidationError`) is replaced."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, model in (("ProblemDetails", ProblemDetails), ("FieldError", FieldError)):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[name] = schema
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in problem_statuses(path, operation):
                responses.setdefault(str(status), {})
            for key, response in list(responses.items()):
                if key.isdigit() and int(key) >= 400:
                    responses[key] = _problem_response(int(key), response.get("description"))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec


def _document(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_with_problems(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
