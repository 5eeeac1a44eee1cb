"""The consumer lag gauge never holds up the consumer's loop: a partition whose position is being reset keeps its last
figure, and the others are reported (a stand-in consumer: this is the gauge's own logic, not the broker's)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import TopicPartition

from bancheng_shared.ops_metrics import CONSUMER_LAG, LagGauge

TOPIC = "intake.tickets"


class StandInConsumer:
    """Answers what the gauge asks: the assignment, the high watermarks, the positions (None: being reset)."""

    def __init__(self, highs: dict[int, int | None], positions: dict[int, int | None]) -> None:
        self.highs, self.positions = highs, positions
        self.never = asyncio.get_running_loop().create_future()  # a reset the broker does not answer

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, p) for p in self.highs}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highs[tp.partition]

    async def position(self, tp: TopicPartition) -> int:
        known = self.positions[tp.partition]
        if known is None:
            return int(await self.never)
        return known


def lag(group: str, partition: int) -> float | None:
    """The gauge's value, or None when it has no series for the partition."""
    for metric in CONSUMER_LAG.collect():
        for sample in metric.samples:
            if sample.labels["group"] == group and sample.labels["partition"] == str(partition):
                return sample.value
    return None


async def test_a_partition_whose_position_is_being_reset_keeps_its_figure_and_the_loop_goes_on() -> None:
    gauge = LagGauge("triage", "g-lag-1", every_s=0)
    healthy = StandInConsumer({0: 500, 1: 300, 2: 80}, {0: 420, 1: 300, 2: 10})
    await gauge.report(healthy)  # type: ignore[arg-type]
    assert [lag("g-lag-1", p) for p in range(3)] == [80, 0, 70]

    # the broker came back empty: partition 1's position is reset and the broker does not answer yet
    resetting = StandInConsumer({0: 520, 1: 300, 2: 90}, {0: 500, 1: None, 2: 90})
    started = time.monotonic()
    await gauge.report(resetting)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1.0  # aiokafka alone would wait up to its request timeout, again and again
    assert [lag("g-lag-1", p) for p in range(3)] == [20, 0, 0]


async def test_a_partition_never_reported_stays_unknown_while_its_position_is_reset_and_revoked_ones_go() -> None:
    gauge = LagGauge("sla", "g-lag-2", every_s=0)
    await gauge.report(StandInConsumer({0: 40, 1: 7, 2: None}, {0: None, 1: 2, 2: 0}))  # type: ignore[arg-type]
    assert [lag("g-lag-2", p) for p in range(3)] == [None, 5, None]
    await gauge.report(StandInConsumer({0: 40}, {0: 40}))  # type: ignore[arg-type]  # 1 and 2 went to another member
    assert [lag("g-lag-2", p) for p in range(3)] == [0, None, None]
