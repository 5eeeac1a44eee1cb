"""Open311 GeoReport v2 routes (`/open311/v2/…{.json|.xml}`), answering errors in GeoReport's format (thin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import Principal, Role
from bancheng_shared.errors import Problem
from intake_svc import queries
from intake_svc.api.deps import Bus, Ctx
from intake_svc.domain import open311
from intake_svc.domain.commands import RegisterTicket
from intake_svc.models import TicketCreate, TicketCreated

router = APIRouter(prefix="/open311/v2", tags=["open311"])
ROLES = {Role.admin, Role.operator, Role.frontend, Role.platform, Role.work_team}
DOC = ("Open311 GeoReport v2；格式由后缀 .json 或 .xml 决定；api_key 参数或 Bearer 凭据。\n\n"
       "Open311 GeoReport v2; the suffix .json or .xml picks the format; credential as api_key or Bearer.")


def _render(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(open311.to_xml(root, data), status_code=status, media_type="application/xml")
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(fmt: str, code: int, description: str) -> Response:
    body = [{"code": code, "description": description}]
    return _render(fmt if fmt in open311.FORMATS else "json", "errors", body, status=code)


async def _principal(request: Request, params: dict[str, str]) -> Principal:
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("api_key")
    if not key:
        raise open311.Open311Error(401, "api_key is required")
    who = await request.app.state.api_keys.lookup(key)
    if who is None:
        raise open311.Open311Error(401, "api_key is unknown or revoked")
    if who.role not in ROLES:
        raise open311.Open311Error(403, f"role {who.role.value!r} may not use Open311")
    return who


async def _run(fmt: str, fn: Callable[[], Awaitable[Response]]) -> Response:
    if fmt not in open311.FORMATS:
        return _error("json", 400, f"format {fmt!r} not supported; use .json or .xml")
    try:
        return await fn()
    except open311.Open311Error as e:
        return _error(fmt, e.code, e.description)
    except Problem as p:
        return _error(fmt, p.status, p.detail)


def _q(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


@router.get("/services.{fmt}", summary="Open311 服务列表 / services", description=DOC)
async def services(fmt: str, request: Request) -> Response:
    async def go() -> Response:
        await _principal(request, _q(request))
        return _render(fmt, "services", open311.service_list())
    return await _run(fmt, go)


@router.get("/services/{code}.{fmt}", summary="Open311 服务定义 / service definition", description=DOC)
async def service_definition(code: str, fmt: str, request: Request) -> Response:
    async def go() -> Response:
        await _principal(request, _q(request))
        return _render(fmt, "service_definition", open311.service_definition(code))
    return await _run(fmt, go)


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise open311.Open311Error(400, "malformed JSON body") from exc
        if not isinstance(data, dict):
            raise open311.Open311Error(400, "the body must be an object")
        return {k: str(v) for k, v in data.items() if v is not None}
    if ctype in ("application/x-www-form-urlencoded", ""):
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    raise open311.Open311Error(415, f"content type {ctype!r} not accepted; send form fields or JSON")


def _float(params: dict[str, str], name: str) -> float | None:
    if name not in params or params[name] == "":
        return None
    try:
        return float(params[name])
    except ValueError as exc:
        raise open311.Open311Error(400, f"{name}: not a number") from exc


@router.post("/requests.{fmt}", summary="Open311 提交诉求 / create a service request", description=DOC)
async def create_request(fmt: str, request: Request, bus: Bus, corr: CorrelationId) -> Response:
    async def go() -> Response:
        params = {**_q(request), **(await _form(request))}
        who = await _principal(request, params)
        code = params.get("service_code", "")
        if code not in open311.BY_CODE:
            raise open311.Open311Error(404 if code else 400,
                                       f"service_code {code!r} not found" if code else "service_code is required")
        lat, lon = _float(params, "lat"), _float(params, "long")
        if not (params.get("address_string") or params.get("address_id") or (lat is not None and lon is not None)):
            raise open311.Open311Error(400, "a location is required: lat & long, address_string or address_id")
        name = " ".join(p for p in (params.get("last_name"), params.get("first_name")) if p) or None
        complainant = None
        if name or params.get("phone"):
            complainant = {"name": name, "phone": params.get("phone")}
        try:
            body = TicketCreate.model_validate({
                "channel": "app", "content": params.get("description", ""), "category": code,
                "complainant": complainant,
                "location": {"region_code": params.get("address_id"), "address": params.get("address_string"),
                             "latitude": lat, "longitude": lon},
            })
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            field = {"content": "description", "complainant.phone": "phone", "location.region_code": "address_id",
                     "location.latitude": "lat", "location.longitude": "long"}.get(field, field)
            raise open311.Open311Error(400, f"{field}: {err['msg']}") from exc
        created: TicketCreated = await bus.handle(RegisterTicket(actor=who, body=body, correlation_id=corr))
        notice = "已并入正在办理的相同诉求 / merged into an open request" if created.merged else None
        return _render(fmt, "service_requests", [{"service_request_id": created.ticket_no,
                                                  "token": created.tracking_token, "service_notice": notice,
                                                  "account_id": None}], status=201)
    return await _run(fmt, go)


def _dt(params: dict[str, str], name: str) -> datetime | None:
    if not params.get(name):
        return None
    try:
        d = datetime.fromisoformat(params[name].replace("Z", "+00:00"))
    except ValueError as exc:
        raise open311.Open311Error(400, f"{name}: not a W3C date-time") from exc
    if d.tzinfo is None:
        raise open311.Open311Error(400, f"{name}: give a time zone")
    return d


@router.get("/requests.{fmt}", summary="Open311 查询诉求 / query service requests", description=DOC)
async def list_requests(fmt: str, request: Request, rt: RuntimeDep, ctx: Ctx) -> Response:
    async def go() -> Response:
        params = _q(request)
        await _principal(request, params)
        if params.get("service_request_id"):
            rows = await queries.open311_requests(rt, ids=params["service_request_id"].split(",")[:200])
        else:
            # GeoReport's default window: the last 90 days, at most 1000
            start, end = _dt(params, "start_date"), _dt(params, "end_date")
            codes = params["service_code"].split(",") if params.get("service_code") else None
            st = params.get("status")
            closed = [*ctx.settings.closed_statuses, "resolved"]
            if st and st not in ("open", "closed"):
                raise open311.Open311Error(400, "status: use open or closed")
            rows = await queries.open311_requests(rt, start=start, end=end, codes=codes,
                                                  status_in=closed if st == "closed" else None,
                                                  status_not_in=closed if st == "open" else None)
        return _render(fmt, "service_requests", [open311.request_view(r, ctx.settings.closed_statuses)
                                                 for r in rows])
    return await _run(fmt, go)


@router.get("/requests/{request_id}.{fmt}", summary="Open311 单个诉求 / one service request", description=DOC)
async def get_request(request_id: str, fmt: str, request: Request, rt: RuntimeDep, ctx: Ctx) -> Response:
    async def go() -> Response:
        await _principal(request, _q(request))
        row = await queries.ticket(rt, request_id)
        if row is None:
            raise open311.Open311Error(404, f"service_request_id {request_id!r} not found")
        return _render(fmt, "service_requests", [open311.request_view(row, ctx.settings.closed_statuses)])
    return await _run(fmt, go)


@router.get("/tokens/{token}.{fmt}", summary="Open311 凭证换编号 / request id from a token", description=DOC)
async def token(token: str, fmt: str, request: Request, rt: RuntimeDep) -> Response:
    async def go() -> Response:
        await _principal(request, _q(request))
        ticket_no = await queries.ticket_of_token(rt, token)
        if ticket_no is None:
            raise open311.Open311Error(404, "token not found")
        return _render(fmt, "service_requests", [{"service_request_id": ticket_no, "token": token}])
    return await _run(fmt, go)
