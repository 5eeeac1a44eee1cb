"""Callbacks out cannot scan the network: targets refused when subscribed and again after DNS resolution at
delivery time (every address form), only an admin's allow-list lets the local test receiver be reached; no
redirect followed; the log never echoes a receiver's body; secret rotation signs with both secrets during the
overlap; inbound signature headers that are not ASCII are 401; ids and names from the URL never reach the store
unchecked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from hooks_support import Receiver, hooks_service, standard_signatures

from bancheng_services.testing import Databases, RunningService, auth, eventually
from intake_svc.adapters import callbacks as stored_callbacks

SECRET = "sub-secret-0123456789"


@pytest.fixture
async def hooks(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake whose callbacks may reach the local test receivers (127.0.0.1 allow-listed, http allowed)."""
    async with hooks_service(databases, kafka_bootstrap, topic_prefix) as svc:
        yield svc


@pytest.fixture
async def no_allow_list(databases: Databases, kafka_bootstrap: str,
                        topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake allowing http (so the local receiver's scheme passes) but with no allow-list."""
    async with hooks_service(databases, kafka_bootstrap, topic_prefix, callback_allowed_targets=[]) as svc:
        yield svc


async def _subscribe(svc: RunningService, url: str, who: str = "operator") -> dict:
    r = await svc.client.post("/v1/subscriptions", json={"name": "t", "url": url, "event_types": ["*"],
                                                          "secret": SECRET}, headers=auth(who))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _ticket(svc: RunningService) -> str:
    r = await svc.client.post("/v1/tickets", json={"channel": "web", "content": "网站留言：路灯不亮"},
                              headers=auth("operator"))
    return str(r.json()["ticket_no"])


async def _got(rx: Receiver, n: int = 1) -> bool:
    return len(rx.received) >= n


async def _log(svc: RunningService, sub_id: str, status: str | None = None) -> list:
    params = {"subscription_id": sub_id, **({"status": status} if status else {})}
    return list((await svc.client.get("/v1/deliveries", params=params, headers=auth("admin"))).json())


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "2130706433", "0177.0.0.1", "0x7f.1", "127.1",
                                  "169.254.169.254", "10.0.0.1", "192.168.1.1", "[::ffff:127.0.0.1]",
                                  "[fe80::1]", "224.0.0.1", "0.0.0.0", "[::]"])
async def test_inside_addresses_cannot_be_subscribed(intake: RunningService, host: str) -> None:
    c = intake.client
    r = await c.post("/v1/subscriptions", json={"name": "scan", "url": f"https://{host}:22/", "event_types": ["*"],
                                                "secret": SECRET}, headers=auth("platform"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url", r.text
    reg = await c.put("/v1/platforms/prov", json={"secret": "prov-secret-0123456789",
                                                  "callback_url": f"https://{host}/cb"}, headers=auth("admin"))
    assert reg.status_code == 422 and reg.json()["errors"][0]["field"] == "callback_url", reg.text


async def test_http_is_refused_unless_an_admin_allows_it(intake: RunningService) -> None:
    r = await intake.client.post("/v1/subscriptions", json={"name": "h", "url": "http://callback.example.cn/",
                                                            "event_types": ["*"], "secret": SECRET},
                                 headers=auth("operator"))
    assert r.status_code == 422 and "https" in r.json()["detail"]
    ok = await intake.client.post("/v1/subscriptions", json={"name": "h", "url": "https://callback.example.cn/",
                                                             "event_types": ["*"], "secret": SECRET},
                                  headers=auth("operator"))
    assert ok.status_code == 201


async def test_a_name_resolving_to_loopback_is_refused_at_delivery(no_allow_list: RunningService) -> None:
    svc = no_allow_list
    async with Receiver(fail_first=0) as rx:
        literal = await svc.client.post("/v1/subscriptions", json={"name": "x", "url": rx.url, "event_types": ["*"],
                                                                   "secret": SECRET}, headers=auth("operator"))
        assert literal.status_code == 422  # 127.0.0.1 itself: refused when subscribed
        sub = await _subscribe(svc, f"http://localhost:{rx.port}/hook")  # a name: checked after resolution
        await _ticket(svc)
        parked = (await eventually(lambda: _log(svc, sub["id"], "parked")))[0]
        assert parked["attempts"] == 1 and parked["last_status_code"] is None
        assert "loopback" in parked["last_error"] and rx.hits == 0


async def test_the_allow_list_lets_the_same_receiver_be_reached(hooks: RunningService) -> None:
    async with Receiver(fail_first=0) as rx:
        sub = await _subscribe(hooks, f"http://localhost:{rx.port}/hook")
        await _ticket(hooks)
        await eventually(lambda: _log(hooks, sub["id"], "delivered"))
        assert rx.hits == 1 and rx.received[0][0]["host"] == f"localhost:{rx.port}"


async def test_stored_targets_of_every_form_are_refused_at_delivery(no_allow_list: RunningService) -> None:
    """Subscriptions stored before the guard (or written around the API) are checked again when delivered."""
    svc = no_allow_list
    async with Receiver(fail_first=0) as rx:
        forms = ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]", "[::1]",
                 "169.254.169.254", "[::]", "0.0.0.0"]
        ids = []
        async with svc.runtime.unit_of_work() as uow:
            now = datetime.now(UTC)
            for host in forms:
                sub_id = str(uuid.uuid4())
                ids.append(sub_id)
                await stored_callbacks.add_subscription(uow.session, dict(
                    id=sub_id, owner_key_id="legacy", owner_role="admin", name=host, url=f"http://{host}:{rx.port}/",
                    event_types=["*"], secret_enc=svc.app.state.intake.vault.encrypt(SECRET, "subscription"),
                    platform=None, active=True, created_at=now, updated_at=now))
        await _ticket(svc)
        for sub_id, host in zip(ids, forms, strict=True):
            parked = (await eventually(lambda s=sub_id: _log(svc, s, "parked")))[0]
            assert parked["last_error"].startswith("refused:") and parked["attempts"] == 1, (host, parked)
        assert rx.hits == 0


async def test_no_redirect_is_followed_and_no_body_is_echoed(hooks: RunningService) -> None:
    async with Receiver(fail_first=0) as elsewhere:
        location = f"Location: {elsewhere.url}\r\n".encode()
        async with Receiver(fail_first=100, fail_status=b"302 Found", extra_headers=location) as redirecting, \
                Receiver(fail_first=100) as failing:
            moved = await _subscribe(hooks, redirecting.url)
            down = await _subscribe(hooks, failing.url)
            await _ticket(hooks)
            tried = (await eventually(lambda: _log(hooks, moved["id"], "parked")))[0]
            assert [a["status_code"] for a in tried["attempt_log"]] == [302, 302, 302]
            assert tried["last_error"] == "HTTP 302: redirects are not followed" and elsewhere.hits == 0
            failed = (await eventually(lambda: _log(hooks, down["id"], "parked")))[0]
            assert {a["error"] for a in failed["attempt_log"]} == {"HTTP 500"}
            everything = (await hooks.client.get("/v1/deliveries", headers=auth("admin"))).text
            assert "ssh-2.0" not in everything and "internal-banner" not in everything


async def test_a_rotated_secret_signs_beside_the_new_one_during_the_overlap(hooks: RunningService) -> None:
    c = hooks.client
    async with Receiver(fail_first=0) as rx:
        sub = await _subscribe(hooks, rx.url)
        rotated = await c.patch(f"/v1/subscriptions/{sub['id']}", json={"secret": "new-secret-0123456789"},
                                headers=auth("operator"))
        assert rotated.status_code == 200 and rotated.json()["previous_secret_expires_at"] is not None
        await _ticket(hooks)
        await eventually(lambda: _got(rx))
        headers, body = rx.received[0]
        sigs = headers["webhook-signature"].split(" ")
        assert sigs[0] in standard_signatures(b"new-secret-0123456789", headers, body)
        assert sigs[1] in standard_signatures(SECRET.encode(), headers, body)
        assert headers["webhook-id"] == orjson.loads(body)["event_id"]
        # ended at once: one signature, the new secret's
        ended = await c.patch(f"/v1/subscriptions/{sub['id']}", json={"secret": "newer-secret-0123456789",
                                                                      "previous_secret_valid_s": 0},
                              headers=auth("operator"))
        assert ended.status_code == 200 and ended.json()["previous_secret_expires_at"] is None
        await _ticket(hooks)
        await eventually(lambda: _got(rx, 2))
        headers, body = rx.received[1]
        assert {headers["webhook-signature"]} == standard_signatures(b"newer-secret-0123456789", headers, body)
        bad = await c.patch(f"/v1/subscriptions/{sub['id']}", json={"secret": "with-a-nul-\x00-0123456789"},
                            headers=auth("operator"))
        assert bad.status_code == 422


@pytest.mark.parametrize("header", ["X-Bancheng-Signature", "X-Bancheng-Timestamp"])
@pytest.mark.parametrize("value", ["sha256=é".encode("latin-1"), "签名".encode(), b"\xb2", b"\xff" * 64])
async def test_signature_headers_that_are_not_ascii_are_401(intake: RunningService, header: str,
                                                            value: bytes) -> None:
    headers = {**auth("platform"), "content-type": "application/json", "X-Bancheng-Timestamp": "1795397400",
               "X-Bancheng-Signature": "sha256=" + "0" * 64}
    r = await intake.client.post("/v1/platforms/gov-duch/items", content=b'{"external_id": "X", "content": "x"}',
                                 headers={**headers, header: value})  # type: ignore[dict-item]
    assert r.status_code == 401, r.text


async def test_ids_and_names_from_the_url_never_reach_the_store_unchecked(intake: RunningService) -> None:
    c = intake.client
    for path in ("/v1/subscriptions/%00", "/v1/subscriptions/x%0A", f"/v1/subscriptions/{uuid.uuid4()}"):
        for method in ("GET", "DELETE"):
            r = await c.request(method, path, headers=auth("operator"))
            assert r.status_code == 404 and r.json()["type"].endswith("unknown-subscription"), (method, path)
        r = await c.patch(path, json={"active": False}, headers=auth("operator"))
        assert r.status_code == 404
    r = await c.get("/v1/deliveries", params={"subscription_id": "\x00"}, headers=auth("operator"))
    assert r.status_code == 404
    for n in (0, 2**63, 2**64 + 5, -1):
        assert (await c.post(f"/v1/deliveries/{n}/replay", headers=auth("operator"))).status_code == 422
    assert (await c.post(f"/v1/deliveries/{2**63 - 1}/replay", headers=auth("operator"))).status_code == 404
    for name in ("%00", "GOV", "a" * 65, "省平台"):
        r = await c.post(f"/v1/platforms/{name}/items", content=b"{}",
                         headers={**auth("platform"), "content-type": "application/json"})
        assert r.status_code == 404 and r.json()["type"].endswith("unknown-platform"), name
    r = await c.put("/v1/platforms/%00", json={"secret": "prov-secret-0123456789"}, headers=auth("admin"))
    assert r.status_code == 422
    r = await c.post("/v1/subscriptions", json={"name": "a\x00", "url": "https://cb.example.cn/",
                                                "event_types": ["*"], "secret": SECRET}, headers=auth("operator"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    long_url = "https://cb.example.cn/" + "a" * 2000
    r = await c.post("/v1/subscriptions", json={"name": "a", "url": long_url, "event_types": ["*"],
                                                "secret": SECRET}, headers=auth("operator"))
    assert r.status_code == 422
