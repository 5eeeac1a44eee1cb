"""The hooks' rules, pure: where callbacks may go (every address form), Standard Webhooks signatures, secret
rotation with an overlap, retries with jitter, inbound signature headers that are not ASCII, and Open311's
reading rules, query window, parameters and well-formed XML."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from intake_svc.domain import callbacks, open311, signing, targets

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
OPEN = targets.TargetPolicy()

# every form of an address inside the network, and why it is refused
INSIDE = {
    "127.0.0.1": "loopback", "2130706433": "loopback", "0177.0.0.1": "loopback", "0x7f.0.0.1": "loopback",
    "0x7f000001": "loopback", "127.1": "loopback", "[::1]": "loopback", "::1": "loopback",
    "[::ffff:127.0.0.1]": "loopback", "::ffff:7f00:1": "loopback", "2002:7f00:1::1": "loopback",
    "64:ff9b::7f00:1": "loopback", "169.254.169.254": "link-local", "fe80::1": "link-local",
    "10.0.0.1": "private", "172.16.5.4": "private", "192.168.1.1": "private", "fd00::1": "private",
    "[::ffff:10.1.2.3]": "private", "167772161": "private", "224.0.0.1": "multicast", "239.1.2.3": "multicast",
    "ff02::1": "multicast", "0.0.0.0": "unspecified", "0": "unspecified", "[::]": "unspecified",
    "100.64.0.1": "non-public", "192.0.2.10": "private", "240.0.0.1": "private",
}


@pytest.mark.parametrize(("host", "kind"), list(INSIDE.items()))
def test_every_form_of_an_inside_address_is_refused(host: str, kind: str) -> None:
    ip = targets.parse_ip(host)
    assert ip is not None, host
    reason = targets.why_refused(ip)
    assert reason is not None and kind in reason, (host, reason)
    with pytest.raises(Problem) as err:
        targets.check_url(f"https://{host}/hook", OPEN)
    assert err.value.status == 422 and err.value.extra["errors"][0]["field"] == "url"
    # at delivery time, after resolution, the same
    assert targets.choose_address("callback.example.cn", [str(ip)], OPEN)[0] is None


def test_public_addresses_and_names_pass() -> None:
    for host in ("8.8.8.8", "2001:4860:4860::8888", "134744072"):  # the last is 8.8.8.8 in decimal
        ip = targets.parse_ip(host)
        assert ip is not None and targets.why_refused(ip) is None
    assert targets.parse_ip("callback.example.cn") is None and targets.parse_ip("1.2.3.4.5") is None
    assert targets.parse_ip("256.1.1.1") is None and targets.parse_ip("0x1g.1") is None
    assert targets.check_url("https://callback.example.cn/hook?x=1", OPEN) == "https://callback.example.cn/hook?x=1"
    assert targets.choose_address("cb.example.cn", ["8.8.8.8", "8.8.4.4"], OPEN) == ("8.8.8.8", None)


def test_a_name_resolving_inside_is_refused_as_a_whole() -> None:
    ip, reason = targets.choose_address("rebind.example.cn", ["8.8.8.8", "127.0.0.1"], OPEN)
    assert ip is None and reason is not None and "loopback" in reason
    assert targets.choose_address("nothing.example.cn", [], OPEN)[1] == "the target's host name does not resolve"


def test_scheme_credentials_and_the_allow_list() -> None:
    for url, message in (("http://callback.example.cn/", "https"), ("ftp://callback.example.cn/", "https"),
                         ("https://user:pw@callback.example.cn/", "credentials"), ("https:///x", "https"),
                         ("https://[zz/", "URL")):
        with pytest.raises(Problem) as err:
            targets.check_url(url, OPEN)
        assert message in err.value.detail, url
    local = targets.TargetPolicy.of(["127.0.0.1/32", "hooks.gov.internal", "*.zwww.cn", "10.8.0.0/16"],
                                    allow_http=True)
    assert targets.check_url("http://127.0.0.1:8080/hook", local)
    assert targets.choose_address("127.0.0.1", ["127.0.0.1"], local) == ("127.0.0.1", None)
    assert targets.choose_address("hooks.gov.internal", ["10.9.9.9"], local) == ("10.9.9.9", None)
    assert targets.choose_address("a.b.zwww.cn", ["192.168.0.9"], local) == ("192.168.0.9", None)
    assert targets.choose_address("x.example.cn", ["10.8.3.4"], local) == ("10.8.3.4", None)
    assert targets.choose_address("x.example.cn", ["10.9.3.4"], local)[0] is None
    assert targets.choose_address("x.example.cn", ["::1"], local)[0] is None  # [::1] is not on the list
    only = targets.TargetPolicy.of(["hooks.gov.cn"], allowlist_only=True)
    with pytest.raises(Problem):
        targets.check_url("https://elsewhere.example.cn/", only)
    assert targets.choose_address("elsewhere.example.cn", ["8.8.8.8"], only)[0] is None
    assert targets.choose_address("hooks.gov.cn", ["8.8.8.8"], only) == ("8.8.8.8", None)
    with pytest.raises(ValueError, match="not a host name"):
        targets.TargetPolicy.of(["http://x/"])


def test_standard_webhooks_signature_matches_the_spec_vector() -> None:
    # the Standard Webhooks libraries' own test vector
    sig = signing.standard_signature(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                     "1614265330", b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    # a plain secret: its UTF-8 bytes are the key; two secrets while a rotation overlaps, newest first
    body = b'{"type": "TicketReceived"}'
    two = signing.standard_signature(["new-secret-0123456789", "old-secret-0123456789"], "e1", "1700000000", body)

    def ref(secret: bytes) -> str:
        return "v1," + base64.b64encode(hmac.new(secret, b"e1.1700000000." + body, hashlib.sha256).digest()).decode()

    assert two == f"{ref(b'new-secret-0123456789')} {ref(b'old-secret-0123456789')}"
    headers = signing.callback_headers(["new-secret-0123456789", "old"], msg_id="e1", timestamp="1700000000",
                                       body=body)
    assert headers["webhook-id"] == "e1" and headers["webhook-timestamp"] == "1700000000"
    assert headers["X-Bancheng-Signature"] == "sha256=" + signing.sign("new-secret-0123456789", "1700000000", body)
    assert signing.webhook_key("whsec_!!!") == b"whsec_!!!"  # not base64: the bytes as given


def test_secret_rotation_overlaps_then_ends() -> None:
    ring = callbacks.rotate(callbacks.Secrets("old-secret-0123456789"), "new-secret-0123456789", now=NOW,
                            overlap_s=3600)
    assert ring.valid(NOW) == ["new-secret-0123456789", "old-secret-0123456789"]
    assert ring.previous_expires_at(NOW) == NOW + timedelta(hours=1)
    later = NOW + timedelta(hours=1, seconds=1)
    assert ring.valid(later) == ["new-secret-0123456789"] and ring.previous_expires_at(later) is None
    stored = callbacks.encode_secrets(ring)
    assert callbacks.decode_secrets(stored) == ring
    assert callbacks.decode_secrets("legacy-secret-0123456") == callbacks.Secrets("legacy-secret-0123456")
    assert callbacks.encode_secrets(callbacks.Secrets("plain-secret-012345")) == "plain-secret-012345"
    at_once = callbacks.rotate(ring, "newer-secret-0123456", now=later, overlap_s=0)
    assert at_once.valid(later) == ["newer-secret-0123456"]
    assert callbacks.rotate(at_once, "newer-secret-0123456", now=later, overlap_s=60) == at_once


def test_retries_back_off_with_jitter_and_a_refused_target_parks() -> None:
    policy = callbacks.DeliveryPolicy()
    waits = {callbacks.jittered_s(3, 2.0, 3600.0, j) for j in (0.0, 0.25, 0.5, 1.0)}
    assert min(waits) == 4.0 and max(waits) == 8.0 and len(waits) == 4  # [ceiling/2, ceiling]
    first = callbacks.after_try(attempts=1, error="HTTP 503", status_code=503, subscribed=True, now=NOW,
                                policy=policy, jitter=0.0)
    assert first["next_attempt_at"] == NOW + timedelta(seconds=1)
    refused = callbacks.after_try(attempts=1, error="refused: …", status_code=None, subscribed=True, now=NOW,
                                  policy=policy, jitter=0.3, refused=True)
    assert refused["status"] == "parked"
    assert callbacks.backoff_s(10_000, 2.0, 3600.0) == 3600.0


@pytest.mark.parametrize("value", ["sha256=é", "sha256=签名", "sha256=\u00ff" * 3])
def test_a_signature_header_that_is_not_ascii_is_401(value: str) -> None:
    with pytest.raises(Problem) as err:
        signing.verify("s" * 20, b"{}", "1795397400", value, now_s=1795397400, max_skew_s=300)
    assert err.value.status == 401 and err.value.type_ == "bad-signature"


@pytest.mark.parametrize("stamp", ["\u00b2", "١٧٩٥٣٩٧٤٠٠", "１７９５", "9" * 5000, "-1", " 1795397400"])
def test_a_timestamp_that_is_not_ascii_digits_is_401(stamp: str) -> None:
    with pytest.raises(Problem) as err:
        signing.verify("s" * 20, b"{}", stamp, "sha256=00", now_s=1795397400, max_skew_s=300)
    assert err.value.status == 401 and err.value.type_ == "bad-signature"


def test_subscription_ids_are_uuids() -> None:
    callbacks.check_subscription_id("0b7f9a0e-5c1e-4a37-9a64-4f3c1d2e7a10")
    for bad in ("x", "0b7f9a0e-5c1e-4a37-9a64-4f3c1d2e7a10\n", "\x00", "0B7F9A0E-5C1E-4A37-9A64-4F3C1D2E7A1G"):
        with pytest.raises(Problem) as err:
            callbacks.check_subscription_id(bad)
        assert err.value.status == 404 and err.value.type_ == "unknown-subscription"


# ---------------------------------------------------------------- Open311


@dataclass
class Row:
    ticket_no: str = "BC20261123093000000ABCD"
    submitted_by: str | None = "k-front"
    category: str | None = None
    category_hint: str | None = "complaint"
    status: str = "received"
    status_label: str = "已受理"
    content: str = "路灯坏了"
    unit_name: str | None = None
    received_at: datetime = NOW
    updated_at: datetime = NOW
    deadline: datetime | None = None
    address: str | None = "建设路100号"
    region_code: str | None = "339901001"
    latitude: float | None = 30.25
    longitude: float | None = 120.16
    attachments: list | None = None


def who(role: Role, key: str = "k-front") -> Principal:
    return Principal(key, role.value, role, "339901-x" if role == Role.unit else None)


def test_who_reads_what() -> None:
    assert open311.scope_of(who(Role.operator)) == open311.Scope.all
    assert open311.scope_of(who(Role.leader)) == open311.Scope.all
    assert open311.scope_of(who(Role.unit)) == open311.Scope.unit
    assert open311.scope_of(who(Role.frontend)) == open311.Scope.own
    assert open311.scope_of(who(Role.platform)) == open311.Scope.own
    report = Row(category_hint="report", content="某局长收受贿赂", address="某局三楼")
    assert open311.shows_detail(who(Role.inspector), report)
    assert not open311.shows_detail(who(Role.frontend), report)  # its own report: status fields only
    assert open311.shows_detail(who(Role.frontend), Row())  # its own complaint: everything
    assert not open311.shows_detail(who(Role.frontend, "k-other"), Row())  # merged into another's ticket
    view = open311.request_view(report, ["closed"], detail=False)
    assert view["description"] is None and view["address"] is None and view["lat"] is None
    assert view["service_code"] == "report" and view["status"] == "open"
    for role in (Role.work_team, Role.unit, Role.inspector, Role.leader):
        with pytest.raises(open311.Open311Error) as err:
            open311.check_submitter(who(role))
        assert err.value.code == 403
    open311.check_submitter(who(Role.frontend))


def test_the_query_window_defaults_to_90_days() -> None:
    assert open311.window(None, None, NOW) == (NOW - timedelta(days=90), None)
    assert open311.window(NOW, None, NOW) == (NOW, NOW + timedelta(days=90))
    assert open311.window(None, NOW, NOW) == (NOW - timedelta(days=90), NOW)
    assert open311.window(NOW - timedelta(days=90), NOW, NOW) == (NOW - timedelta(days=90), NOW)
    for start, end in ((NOW - timedelta(days=91), NOW), (NOW, NOW - timedelta(seconds=1))):
        with pytest.raises(open311.Open311Error) as err:
            open311.window(start, end, NOW)
        assert err.value.code == 400
    with pytest.raises(open311.Open311Error):
        open311.window(None, datetime(1, 1, 1, tzinfo=UTC), NOW)
    with pytest.raises(open311.Open311Error):
        open311.window(datetime(9999, 12, 31, tzinfo=UTC), None, NOW)
    assert open311.parse_date("start_date", "2026-11-01T08:00:00+08:00") == datetime(2026, 11, 1, tzinfo=UTC)
    for raw in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-11-01", "yesterday"):
        with pytest.raises(open311.Open311Error) as err:
            open311.parse_date("start_date", raw)
        assert err.value.code == 400 and "start_date" in err.value.description


def test_status_jurisdiction_ids_codes_and_attributes() -> None:
    assert open311.status_filter("open,closed") is None and open311.status_filter("closed,open") is None
    assert open311.status_filter("open") == {"open"} and open311.status_filter(None) is None
    for bad in ("pending", "open,,x", ","):
        with pytest.raises(open311.Open311Error):
            open311.status_filter(bad)
    open311.check_jurisdiction({"jurisdiction_id": "bancheng"}, "bancheng")
    open311.check_jurisdiction({}, "bancheng")
    with pytest.raises(open311.Open311Error) as err:
        open311.check_jurisdiction({"jurisdiction_id": "elsewhere.gov"}, "bancheng")
    assert err.value.code == 404
    assert open311.ticket_ids("BC20261123093000000ABCD, x,\x00,BC1\x00,bc2") == ["BC20261123093000000ABCD"]
    assert open311.service_codes("report,nope") == ["report"] and open311.service_codes("") is None
    params = {"attribute[WHISHETN]": "123", "attribute[color][]": "red", "attribute[]": "x", "attribute[a]": ""}
    assert open311.attributes(params) == {"WHISHETN": "123", "color": "red"}
    assert open311.with_attributes("树倒了", {"color": "red"}).endswith("attributes: color=red")
    with pytest.raises(open311.Open311Error) as err:
        open311.check_params({"description": "a\x00b"})
    assert err.value.code == 400 and "description" in err.value.description
    for raw in ("nan", "inf", "91", "abc"):
        with pytest.raises(open311.Open311Error):
            open311.coordinate({"lat": raw}, "lat", 90)


def test_lat_long_route_to_the_nearest_place() -> None:
    places = {"339901001": (30.25, 120.16), "339902001": (30.30, 120.30)}
    assert open311.nearest_region(30.251, 120.161, places, 30) == "339901001"
    assert open311.nearest_region(30.299, 120.29, places, 30) == "339902001"
    assert open311.nearest_region(39.9, 116.4, places, 30) is None  # Beijing: no configured place that near
    assert open311.nearest_region(30.25, 120.16, {}, 30) is None


def test_xml_is_well_formed_whatever_the_text() -> None:
    view = open311.request_view(Row(content="a\x00b\x01c\x1fd\ufffee 🚧 <&>"), ["closed"])
    root = ET.fromstring(open311.to_xml("service_requests", [view]))
    assert root.findtext("request/description") == "a\ufffdb\ufffdc\ufffdd\ufffde 🚧 <&>"
    disc = ET.fromstring(open311.to_xml("discovery", open311.discovery("https://x.gov.cn/", "12345")))
    assert disc.findtext("endpoints/endpoint/url") == "https://x.gov.cn/open311/v2"
    assert [f.text for f in disc.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_ipv6_forms_parse() -> None:
    assert targets.parse_ip("[fe80::1%25eth0]") == ipaddress.ip_address("fe80::1")
