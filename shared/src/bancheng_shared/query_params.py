"""A route dependency: a GET with a query parameter its operation does not declare is a 400 problem naming it (a
mistyped filter silently ignored would answer with everything, and the caller would not know)."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from bancheng_shared.errors import Problem

_DECLARED = "_bancheng_query_params"  # kept on the route object: routes are built once per app (and unhashable)


def declared_query_params(dependant: Dependant) -> frozenset[str]:
    """The query parameters (by the name a caller sends) an operation and its dependencies declare."""
    names: set[str] = set()
    todo = [dependant]
    while todo:
        d = todo.pop()
        names.update(f.alias for f in d.query_params)
        todo.extend(d.dependencies)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """Refuse (400, `errors` naming each) the query parameters of a GET its operation does not take."""
    route = request.scope.get("route")
    if request.method != "GET" or not isinstance(route, APIRoute):
        return
    allowed: frozenset[str] | None = getattr(route, _DECLARED, None)
    if allowed is None:
        allowed = declared_query_params(route.dependant)
        setattr(route, _DECLARED, allowed)
    unknown = sorted({k for k in request.query_params if k not in allowed})
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise Problem(400, f"unknown query parameter {', '.join(repr(u) for u in unknown)}; this operation takes: "
                      f"{takes}", type_="bad-request",
                      errors=[{"field": u, "message": "unknown query parameter"} for u in unknown])
