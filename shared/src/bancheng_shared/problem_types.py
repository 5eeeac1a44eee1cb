"""Problem types (RFC 9457 `type`): each slug has a title and a description, served at `/problems/{slug}`.

A problem's `type` is `/problems/<slug>`, a reference that resolves on the service that answered; its `title` is
the type's short summary (the same for every occurrence), its `detail` says what happened this time. The common
types are here; each service adds its own in `<pkg>/problem_types.py` (`PROBLEM_TYPES`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    """A kind of problem: its title (English and Chinese) and what it means for the caller."""

    title: str
    title_zh: str
    description: str


COMMON: dict[str, ProblemType] = {
    "validation": ProblemType("Invalid request", "请求内容不合规",
                              "A field is missing, of the wrong type or out of range; `errors` names each field."),
    "malformed-json": ProblemType("Malformed JSON", "JSON 格式错误", "The request body is not valid JSON."),
    "unauthenticated": ProblemType("Credential required", "需要凭据",
                                   "No API key was sent, or the key is unknown or revoked. Send "
                                   "`Authorization: Bearer <api key>`."),
    "forbidden": ProblemType("Not allowed for this role", "当前角色无权操作",
                             "The key's role (or unit scope) does not allow this operation."),
    "not-found": ProblemType("Not found", "未找到", "There is no such resource (or it is not visible to this key)."),
    "method-not-allowed": ProblemType("Method not allowed", "不支持的方法",
                                      "The resource does not accept this method."),
    "too-large": ProblemType("Request too large", "请求过大", "The request body is over the service's size limit."),
    "unsupported-media-type": ProblemType("Unsupported media type", "不支持的内容类型",
                                          "Send the body as application/json (or the type the operation documents)."),
    "throttled": ProblemType("Too many attempts", "尝试次数过多",
                             "Too many requests or failed attempts; wait for the time `Retry-After` gives."),
    "unavailable": ProblemType("Not ready", "服务未就绪", "The database or the broker cannot be reached now."),
    "bad-request": ProblemType("Bad request", "请求有误", "The request cannot be read as sent (see `detail`)."),
    "conflict": ProblemType("Conflict with the current state", "与当前状态冲突",
                            "The resource's current state does not allow this (see `detail`)."),
    "internal": ProblemType("Internal error", "内部错误",
                            "The service failed; the error is logged with the request's correlation id."),
}

# the type of a problem raised without one, by status
BY_STATUS = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
             409: "conflict", 413: "too-large", 415: "unsupported-media-type", 422: "validation", 429: "throttled",
             500: "internal", 503: "unavailable"}
