"""Producer behaviour: send now, schedules, load, and templated samples."""

from __future__ import annotations

import uuid

from tests.runtime.engine_helpers import edge, engine_for, node


async def producer_run(**config: object) -> object:
    engine, clock, _ = engine_for(
        [node("p", "producer", **config), node("sink", "log")], [edge("e", "p", "sink")]
    )
    await engine.start()
    return engine


async def test_a_send_without_a_body_renders_the_sample_with_counters_uuids_and_choices() -> None:
    engine = await producer_run(
        body={
            "n": "{{n}}",
            "id": "{{uuid}}",
            "s": "{{choice a|b}}",
            "k": "{{int 1 3}}",
            "t": "{{now}}",
        },
        attributes={"seq": "{{n}}"},
    )
    await engine.send("p", None)
    await engine.send("p", None)
    first, second = (entry["body"] for entry in engine.node("sink").recent())
    assert (first["n"], second["n"]) == (1, 2)
    assert uuid.UUID(first["id"]).version == 4 and first["id"] != second["id"]
    assert first["s"] in ("a", "b") and 1 <= first["k"] <= 3
    assert first["t"] == "2026-01-01T00:00:00.000Z"
    assert engine.node("sink").recent()[0]["attributes"] == {"seq": 1}  # a Number attribute
    await engine.stop()


async def test_a_rate_schedule_fires_one_period_after_deploy_and_then_every_period() -> None:
    engine = await producer_run(mode="schedule", schedule="rate(5 minutes)")
    await engine.advance(299)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 0
    await engine.advance(1)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 1
    await engine.advance(600)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 3
    await engine.stop()


async def test_a_cron_schedule_fires_at_its_minutes() -> None:
    engine = await producer_run(mode="schedule", schedule="cron(0/15 * * * ? *)")
    await engine.advance(3600)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 4
    await engine.stop()


async def test_load_mode_sends_n_per_second_for_m_seconds() -> None:
    engine = await producer_run(mode="load", rate=20.0, duration=3)
    await engine.advance(1)
    assert 19 <= engine.snapshot()["nodes"]["sink"]["in"] <= 21
    await engine.advance(10)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 60
    await engine.stop()


async def test_group_ids_and_partition_keys_are_rendered_per_event() -> None:
    engine = await producer_run(message_group_id="g-{{n}}", partition_key="k-{{n}}")
    message = await engine.send("p", {"x": 1})
    assert message.system["MessageGroupId"] == "g-1" and message.system["PartitionKey"] == "k-1"
    await engine.stop()
