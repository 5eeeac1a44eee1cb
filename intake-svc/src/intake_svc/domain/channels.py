"""Which channels a role may register requests on: an operator keys in what reaches the hotline centre or the
window (and letters, web and app messages on people's behalf); a front end forwards what people submit to the
mailbox, web site or app (WeChat-like front ends are `app`); another platform's items come in only through the
signed platform route, as channel `platform`, never through the plain registration."""

from __future__ import annotations

from bancheng_shared.contracts.vocab import Channel
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Role

_OPERATORS = frozenset({Channel.hotline, Channel.window, Channel.mailbox, Channel.web, Channel.app})
ALLOWED: dict[Role, frozenset[Channel]] = {
    Role.admin: _OPERATORS,
    Role.operator: _OPERATORS,
    Role.frontend: frozenset({Channel.mailbox, Channel.web, Channel.app}),
}


def check_channel(role: Role, channel: Channel, field: str = "channel") -> None:
    """403 naming the channel when this role may not register on it."""
    if channel in ALLOWED.get(role, frozenset()):
        return
    if channel == Channel.hotspot:
        why = "hotspot work orders are handed down by oversight (POST /v1/hotspots/{hotspot_id}/hand-down)"
    elif channel == Channel.platform:
        why = "platform items come in through the signed route POST /v1/platforms/{platform}/items"
    else:
        allowed = ", ".join(sorted(c.value for c in ALLOWED.get(role, frozenset()))) or "none"
        why = f"a {role.value} key registers on: {allowed}"
    raise Problem(403, f"{field}: channel {channel.value!r} is not open to this key; {why}",
                  type_="channel-not-allowed", field=field, channel=channel.value)
