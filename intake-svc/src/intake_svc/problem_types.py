"""The problem types intake answers with besides the common ones (served at /problems/<slug>)."""

from __future__ import annotations

from bancheng_shared.problem_types import ProblemType

PROBLEM_TYPES: dict[str, ProblemType] = {
    "pii-unreadable": ProblemType(
        "Stored personal data unreadable", "已存个人信息无法解密",
        "A stored value could not be decrypted with the configured PII key ring (its key is missing, or a key line "
        "carries the id of another key): the operators restore the key ring; nothing was changed."),
    "unknown-ticket": ProblemType(
        "Unknown ticket", "诉求件不存在",
        "There is no ticket with this number, or the key may not see it (a unit sees its own, a channel its own "
        "submissions)."),
    "ticket-closed": ProblemType(
        "Ticket closed", "诉求件已办结",
        "The ticket is closed (or merged into another), so it takes no follow-up; file a new request instead."),
    "idempotency-conflict": ProblemType(
        "Idempotency key reused", "幂等键冲突",
        "The Idempotency-Key (or the channel's external id) was used before with a different body; `ticket_no` "
        "names the ticket the first request made."),
    "channel-not-allowed": ProblemType(
        "Channel not allowed for this key", "当前凭据不可使用此渠道",
        "A key submits only through the channels its role speaks for (a citizen front end cannot file as the "
        "hotline or a platform); `field` and `channel` name what was refused."),
    "unknown-platform": ProblemType(
        "Unknown platform", "平台未登记", "No platform is registered under this name."),
    "unknown-subscription": ProblemType(
        "Unknown subscription", "回调订阅不存在", "There is no callback subscription with this id for this key."),
    "subscription-deleted": ProblemType(
        "Subscription deleted", "回调订阅已删除",
        "The delivery's subscription was deleted, so it cannot be sent again."),
    "unknown-delivery": ProblemType(
        "Unknown delivery", "回调投递不存在", "There is no callback delivery with this id for this key."),
    "bad-signature": ProblemType(
        "Bad signature", "签名无效",
        "The webhook's signature headers are missing, malformed or do not match the body under any of the "
        "platform's current secrets."),
    "stale-timestamp": ProblemType(
        "Stale timestamp", "时间戳超出允许范围",
        "The webhook's timestamp is too far from the service's clock (replay protection); sign with the current "
        "time."),
    "replayed-signature": ProblemType(
        "Replayed webhook", "重复的签名请求",
        "This signature was already used within the replay window (replay refused); sign the retry again with a "
        "new timestamp."),
    "already-merged": ProblemType(
        "Ticket merged already", "工单已并单",
        "The ticket was merged into another already (`merged_into` names it); it is worked as that ticket's repeat."),
    "merge-refused": ProblemType(
        "Merge refused", "不能并单",
        "The tickets cannot be merged as asked: the target was itself merged into another (`merged_into`: merge into "
        "that one), the ticket has repeats of its own (unmerge them first), or one of them changed meanwhile."),
    "unknown-repeat": ProblemType(
        "Unknown repeat", "重复诉求不存在",
        "The ticket has no merged request (`repeats[].seq`) or possible repeat with this number."),
    "already-unmerged": ProblemType(
        "Repeat unmerged already", "已撤销并单",
        "This merged request was taken out before and is a ticket of its own (`ticket_no` names it); an unmerge "
        "happens once."),
    "possible-repeat-decided": ProblemType(
        "Possible repeat decided already", "疑似重复已处理",
        "The possible repeat was confirmed (merged), rejected or dropped already (`state`)."),
}
