"""One calendar across services: a year loaded into sla through its API is the one oversight counts letter
deadlines on (sla publishes every stored version; oversight consumes it), over a real broker."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bancheng_services.testing import Databases, auth, eventually, run_service

CN = ZoneInfo("Asia/Shanghai")
UNIT = "339901-market_regulation"


class SendingDay:
    """Oversight's time held at Monday 28 December 2026, 09:00 in Shanghai: 5 working days reach into 2027."""

    def now(self) -> datetime:
        return datetime(2026, 12, 28, 1, 0, tzinfo=UTC)


async def test_a_year_loaded_into_sla_is_the_one_oversight_counts_letters_on(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    from bancheng_shared.calendar import seed_years

    assert not seed_years([2027]), "this test needs a year the calendar package does not know"
    sla_url, oversight_url = await databases.new("sla"), await databases.new("oversight")
    async with AsyncExitStack() as stack:
        sla = await stack.enter_async_context(run_service("sla", database_url=sla_url,
                                                          kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix))
        oversight = await stack.enter_async_context(run_service(
            "oversight", database_url=oversight_url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix))
        oversight.runtime.clock = SendingDay()
        r = await oversight.client.post("/v1/cases", headers=auth("supervision_office"),
                                        json={"title": "街道办事拖延督办", "units": [UNIT]})
        case_id = r.json()["case_id"]
        assert (await oversight.client.post(f"/v1/cases/{case_id}/register", headers=auth("inspector"),
                                            json={})).status_code == 200
        letter = {"unit": UNIT, "requirements": "限期整改并书面回复", "working_days": 5}
        r = await oversight.client.post(f"/v1/cases/{case_id}/letters", headers=auth("inspector"), json=letter)
        assert r.status_code == 422 and "2027" in r.json()["detail"]  # never guessed

        # the State Council publishes 2027; the work team loads it into sla, with a day off on Monday 4 January
        r = await sla.client.put("/v1/calendars/2027", headers=auth("work_team"), json={
            "holidays": [{"date": "2027-01-01", "name": "元旦"}, {"date": "2027-01-04", "name": "元旦补休"}],
            "workdays": []})
        assert r.status_code == 200, r.text

        async def sent() -> dict | None:
            r = await oversight.client.post(f"/v1/cases/{case_id}/letters", headers=auth("inspector"), json=letter)
            assert r.status_code in (200, 422), r.text  # 422 until oversight has consumed the year
            return r.json() if r.status_code == 200 else None

        body = await eventually(sent)
        due = datetime.fromisoformat(body["letters"][-1]["due_at"]).astimezone(CN).date()
        # Tue 29, Wed 30, Thu 31 Dec; Fri 1 Jan and Mon 4 Jan off; Tue 5, Wed 6 Jan
        assert due == date(2027, 1, 6)
