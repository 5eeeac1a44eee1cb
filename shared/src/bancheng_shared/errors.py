"""Problem: an error a rule or a route raises, answered as RFC 9457 problem+json (pure: no web framework).

Domain modules raise it too (a refused transition, an invalid value): it is an exception with a status, a short
`type_` slug and a detail, and `bancheng_shared.problems` turns it into a response at the HTTP edge.
"""

from __future__ import annotations

from typing import Any

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """An error to answer as problem+json; `type_` is a short slug under /problems/ (its title comes from there).

    `retry_after=<seconds>` in the extra members becomes the Retry-After header of a 429 or 503 as well.
    """

    def __init__(self, status: int, detail: str, *, type_: str | None = None, title: str | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type_ = type_
        self.title = title
        self.extra = extra
