"""What every service's OpenAPI document says of errors: problem+json (RFC 9457) on every operation, our 422 shape
instead of FastAPI's, and the problem types themselves; models named only by `$ref`; ReDoc served offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from bancheng_shared.problem_types import ProblemType

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("bancheng.docs")

# what any operation may answer besides its own successes (a public one has no 401 or 403)
_ANY = {400: "请求无法解析 / The request cannot be read (malformed JSON, a bad header)",
        404: "未找到 / Not found (or not visible to this key)",
        409: "与当前状态冲突 / Conflicts with the current state",
        413: "请求过大 / Body over the size limit",
        415: "不支持的内容类型 / Unsupported content type",
        422: "请求内容不合规，errors 逐项指明字段 / Invalid: `errors` names each field",
        429: "尝试过多，见 Retry-After / Too many attempts: see Retry-After",
        500: "内部错误，已记录 / Internal error, logged with the correlation id",
        503: "暂不可用 / Not available now"}
_AUTH = {401: "缺少或无效的 API 密钥（见 WWW-Authenticate）/ Missing or invalid API key (see WWW-Authenticate)",
         403: "当前角色或单位范围无权操作 / Not allowed for this key's role or unit"}


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="the field, dotted (e.g. `location.region_code`, `items[3].content`)")
    message: str


class ProblemDetails(BaseModel):
    """An error (RFC 9457 problem details). `type` resolves on the service that answered (GET it)."""

    type: str = Field(description="/problems/<slug>: GET it for the type's titles and meaning")
    title: str = Field(description="the type's short summary (the same for every occurrence)")
    status: int
    detail: str = Field(description="what went wrong this time")
    instance: str | None = Field(None, description="the request path")
    errors: list[FieldError] | None = Field(None, description="422: every invalid field")
    retry_after: int | None = Field(None, description="429: seconds to wait (also the Retry-After header)")

    model_config = {"extra": "allow"}


class ProblemTypeOut(BaseModel):
    """A problem type: its slug, titles and meaning."""

    type: str
    title: str
    title_zh: str
    description: str

    @classmethod
    def of(cls, slug: str, t: ProblemType) -> ProblemTypeOut:
        """The API view of a registered type."""
        return cls(type=f"/problems/{slug}", title=t.title, title_zh=t.title_zh, description=t.description)


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI document list problem+json answers on every operation (built once, cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (ProblemDetails, FieldError):
            schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        ref = {"$ref": "#/components/schemas/ProblemDetails"}
        for path_item in doc.get("paths", {}).values():
            for op in path_item.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                answers = {**_ANY, **(_AUTH if op.get("security") else {})}
                for status, text in answers.items():
                    mine = op["responses"].get(str(status))
                    if mine is not None and "HTTPValidationError" not in str(mine):
                        continue  # the route documents its own (e.g. Open311's GeoReport errors)
                    op["responses"][str(status)] = {"description": text, "content": {PROBLEM_JSON: {"schema": ref}}}
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def document_models(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put models that routes name only by `$ref` (a body read by hand, e.g. a signed one) into the document's
    components, with the models they nest, so that every `$ref` resolves (ReDoc refuses a document that dangles)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, nested in schema.pop("$defs", {}).items():
                schemas.setdefault(name, nested)
            schemas.setdefault(model.__name__, schema)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


# ReDoc's menu shows Redocly's logo from their CDN; the page must load nothing from outside (the platform runs on
# government intranets): the vendored script is served with the logo pointing at the service's own favicon instead
_REDOC_CDN_LOGO = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
_OFFLINE_STATIC = "/static-offline-docs"  # where fastapi_offline mounts Swagger's and ReDoc's files
REDOC_SCRIPT = "/docs-assets/redoc.standalone.js"


def _redoc_script() -> bytes:
    path = Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
    script = path.read_text("utf-8")
    if _REDOC_CDN_LOGO not in script:
        log.warning("redoc_logo_not_patched", detail="the vendored ReDoc no longer names its CDN logo as expected; "
                    "check that /redoc loads nothing from outside")
    # relative to /redoc, so it also holds behind a root path
    return script.replace(_REDOC_CDN_LOGO, f'src:"{_OFFLINE_STATIC.lstrip("/")}/favicon.png"').encode()


def serve_offline_redoc(app: FastAPI) -> None:
    """Replace fastapi_offline's /redoc with a page whose script loads nothing from outside (see above)."""
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != "/redoc"]
    script = _redoc_script()

    @app.get(REDOC_SCRIPT, include_in_schema=False)
    async def redoc_script() -> Response:
        return Response(script, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{REDOC_SCRIPT}", with_google_fonts=False,
                              redoc_favicon_url=f"{root}{_OFFLINE_STATIC}/favicon.png")
