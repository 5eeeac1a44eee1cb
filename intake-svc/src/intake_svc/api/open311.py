"""Open311 GeoReport v2 routes (`/open311/v2/…{.json|.xml}`, discovery at `/open311/discovery.{json|xml}`),
answering errors in GeoReport's format (thin: the rules are in domain/open311.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field, ValidationError

from bancheng_shared.app import CorrelationId, RuntimeDep
from bancheng_shared.auth import KEY_SECURITY, Principal
from bancheng_shared.errors import Problem
from intake_svc import queries_hooks
from intake_svc.api.deps import Bus, Ctx
from intake_svc.domain import open311
from intake_svc.domain.commands import RegisterTicket
from intake_svc.models import TicketCreate, TicketCreated
from intake_svc.models_hooks import (
    Open311Created,
    Open311Discovery,
    Open311Error,
    Open311Service,
    Open311ServiceDefinition,
    Open311ServiceRequest,
    Open311Token,
)

router = APIRouter(prefix="/open311", tags=["open311"])
KEYED: dict[str, Any] = {"security": KEY_SECURITY}  # these check the key themselves (GeoReport's own errors)
# documented as json | xml; any other suffix is answered by a GeoReport error (400), not FastAPI's 422
Fmt = Annotated[str, Path(description="格式 / format: json 或 / or xml", json_schema_extra={"enum": ["json", "xml"]})]
DOC = ("Open311 GeoReport v2；格式由后缀 .json 或 .xml 决定；凭据只在请求头中（Authorization: Bearer 或 X-API-Key），"
       "URL 或表单中的 api_key 一律拒绝（会进入日志）。可选 jurisdiction_id 须为本服务的辖区。\n\n"
       "Open311 GeoReport v2; the suffix .json or .xml picks the format. The key goes in a header only "
       "(Authorization: Bearer or X-API-Key): an api_key in the URL or the form is refused (it would be logged). "
       "An optional jurisdiction_id must be this endpoint's own.")
READ_DOC = ("\n\n员工角色读取其可列出的全部工单，承办单位只读本单位工单，前端与平台只读自己提交的诉求"
            "（举报件与并入他人工单的只显示状态）。\n\nStaff read every ticket they may list, a unit the tickets at "
            "its unit, a front end or platform only the requests it submitted (a 举报 report, or a repeat merged "
            "into someone else's ticket, with its status fields only).")
_XML_ERRORS = {"application/xml": {"schema": {"type": "string", "description": "<errors><error><code/><description/>"
                                                                           "</error></errors>"}}}
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": list[Open311Error], "description": text,
                                                   "content": _XML_ERRORS} for code, text in (
    (400, "GeoReport 错误 / GeoReport error: a parameter is wrong (or an api_key was sent in the URL)"),
    (401, "缺少或无效的凭据 / no valid key in the headers"), (403, "角色无权 / the role may not do this"),
    (404, "不存在或不可见 / not found, or not visible to this key"))}


def _doc(model: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """A route's documented answers: the JSON model, the same as GeoReport XML, GeoReport errors."""
    ok = {"model": model, "content": {"application/xml": {"schema": {
        "type": "string", "description": "GeoReport XML: the same fields as elements"}}}}
    return {status: ok, **_ERRORS}


def _render(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(open311.to_xml(root, data), status_code=status, media_type="application/xml")
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(fmt: str, code: int, description: str) -> Response:
    body = [{"code": code, "description": description}]
    response = _render(fmt if fmt in open311.FORMATS else "json", "errors", body, status=code)
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="open311"'
    return response


def _q(request: Request) -> dict[str, str]:
    params = dict(request.query_params.items())
    open311.check_params(params)
    return params


async def _principal(request: Request, params: dict[str, str]) -> Principal:
    if "api_key" in params:
        raise open311.Open311Error(400, "api_key is not accepted in the URL or the form (it would be written to "
                                        "logs): send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key", "").strip()
    if not key:
        raise open311.Open311Error(401, "a key is required: send 'Authorization: Bearer <key>'")
    who: Principal | None = await request.app.state.api_keys.lookup(key)
    if who is None:
        raise open311.Open311Error(401, "the key is unknown or revoked")
    return who


async def _run(fmt: str, fn: Callable[[], Awaitable[Response]]) -> Response:
    if fmt not in open311.FORMATS:
        return _error("json", 400, f"format {fmt[:20]!r} not supported; use .json or .xml")
    try:
        return await fn()
    except open311.Open311Error as e:
        return _error(fmt, e.code, e.description)
    except Problem as p:
        return _error(fmt, p.status, p.detail)


@router.get("/discovery.{fmt}", summary="Open311 服务发现 / service discovery", response_model=Open311Discovery,
            responses=_doc(Open311Discovery),
            description="公开（无需凭据）：GeoReport v2 端点的地址与格式。\n\nPublic (no key): where the GeoReport v2 "
                        "endpoint is and the formats it speaks.")
async def open311_discovery(fmt: Fmt, ctx: Ctx) -> Response:
    async def go() -> Response:
        s = ctx.settings
        return _render(fmt, "discovery", open311.discovery(s.base_url, s.open311_contact))
    return await _run(fmt, go)


@router.get("/v2/services.{fmt}", summary="Open311 服务列表 / services", description=DOC,
            response_model=list[Open311Service], responses=_doc(list[Open311Service]), openapi_extra=KEYED)
async def open311_services(fmt: Fmt, request: Request, ctx: Ctx) -> Response:
    async def go() -> Response:
        params = _q(request)
        await _principal(request, params)
        open311.check_jurisdiction(params, ctx.settings.open311_jurisdiction_id)
        return _render(fmt, "services", open311.service_list())
    return await _run(fmt, go)


@router.get("/v2/services/{code}.{fmt}", summary="Open311 服务定义 / service definition", description=DOC,
            response_model=Open311ServiceDefinition, responses=_doc(Open311ServiceDefinition),
            openapi_extra=KEYED)
async def open311_service_definition(code: str, fmt: Fmt, request: Request, ctx: Ctx) -> Response:
    async def go() -> Response:
        params = _q(request)
        await _principal(request, params)
        open311.check_jurisdiction(params, ctx.settings.open311_jurisdiction_id)
        return _render(fmt, "service_definition", open311.service_definition(code))
    return await _run(fmt, go)


class Open311RequestForm(BaseModel):
    """A GeoReport service request as posted (form fields, or the same as a JSON object)."""

    service_code: str = Field(json_schema_extra={"enum": list(open311.BY_CODE)})
    description: str = Field(min_length=1)
    jurisdiction_id: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_url: str | None = None


_FORM_SCHEMA = Open311RequestForm.model_json_schema()
_FORM_SCHEMA["description"] = (_FORM_SCHEMA.get("description", "") + " 附加属性以 attribute[code]=value 提交 / "
                               "answers to attributes as attribute[code]=value.")


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
        attrs = data.pop("attribute", None)
        if isinstance(attrs, dict):
            data.update({f"attribute[{k}]": v for k, v in attrs.items()})
        return {str(k): v if isinstance(v, str) else orjson.dumps(v).decode()
                for k, v in data.items() if v is not None}
    if ctype in ("application/x-www-form-urlencoded", ""):
        try:
            fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=1000)
        except ValueError as exc:
            raise open311.Open311Error(400, "too many form fields") from exc
        return {k: v[0] for k, v in fields.items()}
    raise open311.Open311Error(415, f"content type {ctype[:100]!r} not accepted; send form fields or JSON")


_FIELDS = {"content": "description", "complainant.phone": "phone", "complainant.name": "first_name / last_name",
           "location.region_code": "address_id", "location.address": "address_string", "location.latitude": "lat",
           "location.longitude": "long", "attachments.0.url": "media_url", "attachments.0": "media_url"}


def _ticket(params: dict[str, str], code: str, ctx: Any) -> TicketCreate:
    """The service request as a registration: attributes kept with the text, media_url as an attachment, a place
    found from lat/long when no address_id is given."""
    lat, lon = open311.coordinate(params, "lat", 90), open311.coordinate(params, "long", 180)
    if not (params.get("address_string") or params.get("address_id") or (lat is not None and lon is not None)):
        raise open311.Open311Error(400, "a location is required: lat & long, address_string or address_id")
    region = params.get("address_id") or None
    if region is None and lat is not None and lon is not None:
        s = ctx.settings
        region = open311.nearest_region(lat, lon, s.open311_places, s.open311_place_max_km)
    name = " ".join(p for p in (params.get("last_name"), params.get("first_name")) if p) or None
    complainant = {"name": name, "phone": params.get("phone")} if name or params.get("phone") else None
    media = params.get("media_url")
    try:
        return TicketCreate.model_validate({
            "channel": "app", "category": code, "complainant": complainant,
            "content": open311.with_attributes(params.get("description", ""), open311.attributes(params)),
            "location": {"region_code": region, "address": params.get("address_string"), "latitude": lat,
                         "longitude": lon},
            "attachments": [{"url": media, "name": "media_url"}] if media else [],
        })
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise open311.Open311Error(400, f"{_FIELDS.get(field, field)}: {err['msg']}") from exc


@router.post("/v2/requests.{fmt}", summary="Open311 提交诉求 / create a service request", status_code=201,
             description=DOC + "\n\n话务员、前端与平台可提交。\n\nOperators, front ends and platforms may submit.",
             response_model=list[Open311Created], responses=_doc(list[Open311Created], 201),
             openapi_extra={**KEYED, "requestBody": {"required": True, "content": {
                 "application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA},
                 "application/json": {"schema": _FORM_SCHEMA}}}})
async def open311_create_request(fmt: Fmt, request: Request, bus: Bus, ctx: Ctx, corr: CorrelationId) -> Response:
    async def go() -> Response:
        params = {**_q(request), **(await _form(request))}
        open311.check_params(params)
        who = await _principal(request, params)
        open311.check_submitter(who)
        open311.check_jurisdiction(params, ctx.settings.open311_jurisdiction_id)
        code = params.get("service_code", "")
        if code not in open311.BY_CODE:
            raise open311.Open311Error(404 if code else 400, f"service_code {code[:100]!r} not found" if code
                                       else "service_code is required")
        body = _ticket(params, code, ctx)
        created: TicketCreated = await bus.handle(RegisterTicket(actor=who, body=body, correlation_id=corr))
        notice = "已并入正在办理的相同诉求 / merged into an open request" if created.merged else None
        return _render(fmt, "service_requests", [{"service_request_id": created.ticket_no,
                                                  "token": created.tracking_token, "service_notice": notice,
                                                  "account_id": None}], status=201)
    return await _run(fmt, go)


@router.get("/v2/requests.{fmt}", summary="Open311 查询诉求 / query service requests",
            description=DOC + READ_DOC + "\n\n不给日期时为最近 90 天，范围至多 90 天，至多 1000 件；status 可为 "
            "open、closed 或 open,closed。\n\nWithout dates: the last 90 days; a range spans at most 90 days; at most "
            "1000 requests; status is open, closed or open,closed.",
            response_model=list[Open311ServiceRequest], responses=_doc(list[Open311ServiceRequest]),
            openapi_extra=KEYED)
async def open311_list_requests(fmt: Fmt, request: Request, rt: RuntimeDep, ctx: Ctx) -> Response:
    async def go() -> Response:
        params = _q(request)
        who = await _principal(request, params)
        closed = ctx.settings.closed_statuses
        open311.check_jurisdiction(params, ctx.settings.open311_jurisdiction_id)
        if params.get("service_request_id"):
            rows = await queries_hooks.open311_requests(rt, who, ids=open311.ticket_ids(params["service_request_id"]))
        else:
            start, end = open311.window(open311.parse_date("start_date", params.get("start_date")),
                                        open311.parse_date("end_date", params.get("end_date")), rt.clock.now())
            wanted = open311.status_filter(params.get("status"))
            closed_all = [*closed, "resolved", "merged"]
            rows = await queries_hooks.open311_requests(
                rt, who, start=start, end=end, codes=open311.service_codes(params.get("service_code")),
                status_in=closed_all if wanted == {"closed"} else None,
                status_not_in=closed_all if wanted == {"open"} else None)
        return _render(fmt, "service_requests", [
            open311.request_view(r, closed, detail=open311.shows_detail(who, r)) for r in rows])
    return await _run(fmt, go)


@router.get("/v2/requests/{request_id}.{fmt}", summary="Open311 单个诉求 / one service request",
            description=DOC + READ_DOC, response_model=list[Open311ServiceRequest],
            responses=_doc(list[Open311ServiceRequest]), openapi_extra=KEYED)
async def open311_get_request(request_id: str, fmt: Fmt, request: Request, rt: RuntimeDep, ctx: Ctx) -> Response:
    async def go() -> Response:
        params = _q(request)
        who = await _principal(request, params)
        open311.check_jurisdiction(params, ctx.settings.open311_jurisdiction_id)
        row = await queries_hooks.open311_request(rt, who, request_id) if open311.is_ticket_no(request_id) else None
        if row is None:
            raise open311.Open311Error(404, f"service_request_id {request_id[:60]!r} not found")
        return _render(fmt, "service_requests", [
            open311.request_view(row, ctx.settings.closed_statuses, detail=open311.shows_detail(who, row))])
    return await _run(fmt, go)


@router.get("/v2/tokens/{token}.{fmt}", summary="Open311 凭证换编号 / request id from a token", description=DOC,
            response_model=list[Open311Token], responses=_doc(list[Open311Token]), openapi_extra=KEYED)
async def open311_token(token: str, fmt: Fmt, request: Request, rt: RuntimeDep, ctx: Ctx) -> Response:
    async def go() -> Response:
        params = _q(request)
        await _principal(request, params)
        open311.check_jurisdiction(params, ctx.settings.open311_jurisdiction_id)
        ticket_no = await queries_hooks.ticket_of_token(rt, token) if len(token) <= 200 else None
        if ticket_no is None:
            raise open311.Open311Error(404, "token not found")
        return _render(fmt, "service_requests", [{"service_request_id": ticket_no, "token": token}])
    return await _run(fmt, go)
