"""One error shape for every HTTP API: RFC 9457 problem details (`application/problem+json`).

Raise `Problem(status, code, detail, errors=...)` anywhere in a route; `install(app)` turns it (and the
framework's own HTTP and validation errors) into a problem document:
`{"type": "/problems/<code>", "title", "status", "detail", "code", "errors": [{"field", "message", ...}]}`.
`code` is the stable machine-readable name clients switch on; `type` is the same as a URI reference.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

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
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers, media_type=MEDIA_TYPE)


def problem_response(status: int, code: str, detail: str, **kwargs: Any) -> JSONResponse:
    return Problem(status, code, detail, **kwargs).response()


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem answers for these statuses."""
    return {
        status: {"description": STATUS_CODES.get(status, ("", "Error"))[1], "model": ProblemDetails,
                 "content": {MEDIA_TYPE: {}}}
        for status in statuses
    }


def install(app) -> None:
    """Answer `Problem` as problem details (the full set of handlers lives in the http branch)."""

    async def on_problem(_request, exc: Exception):
        assert isinstance(exc, Problem)
        return exc.response()

    app.add_exception_handler(Problem, on_problem)
