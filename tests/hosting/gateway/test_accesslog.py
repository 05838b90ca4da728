from __future__ import annotations

from hosting.gateway.accesslog import AccessLog, entry, masked_key, render


def make(status: int) -> dict[str, object]:
    return entry(
        request_id=f"r{status}",
        now=1_767_225_600.0,
        api_id="abc",
        stage="prod",
        method="GET",
        path="/prod/x",
        resource="/x",
        route_key="GET /x",
        source_ip="127.0.0.1",
        user_agent="curl",
        api_key="secret-key-value",
        status=status,
        response_length=2,
        latency_ms=1.23456,
        integration_latency_ms=0.5,
        integration_status=status,
        error_message="",
        error_type="",
    )


def test_a_user_format_picks_context_fields_per_line() -> None:
    lines = render([make(200)], ["requestId", "status", "integrationLatency"])
    assert lines == [{"requestId": "r200", "status": 200, "integrationLatency": 0.5}]


def test_the_log_keeps_only_the_newest_entries_and_never_a_whole_key() -> None:
    log = AccessLog(size=2)
    for status in (200, 201, 202):
        log.write(make(status))
    assert [item["status"] for item in log.entries()] == [201, 202]
    assert log.entries()[0]["identity.apiKey"] == masked_key("secret-key-value") == "secr…"
    assert log.entries()[0]["requestTime"] == "01/Jan/2026:00:00:00 +0000"
