"""The crash test's own parts: its webhook receiver and the load client it drives lifecycles
with (`make chaos` runs the whole thing on PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets

import pytest

from app.webhooks.delivery import sign
from bench.client import Connection, ConnectionLost, percentile
from scripts import chaos

pytestmark = pytest.mark.slow


def _post(port: int, headers: dict[str, str], body: bytes) -> int:
    async def go() -> int:
        conn = Connection("127.0.0.1", port, timeout=5)
        try:
            answer = await conn.request(
                "POST", "/hooks/trantib", headers=headers, json_body=json.loads(body)
            )
        finally:
            conn.close()
        return answer.status

    return asyncio.run(go())


def test_receiver_records_ids_and_checks_signatures() -> None:
    inbox = chaos.Inbox(secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode())
    server = chaos.start_receiver(inbox)
    port = server.server_address[1]
    try:
        body = json.dumps({"id": "evt-1", "type": "step.completed"}, separators=(",", ":"))
        signature = sign(inbox.secret, "evt-1", 1764300000, body.encode())
        good = {
            "webhook-id": "evt-1",
            "webhook-timestamp": "1764300000",
            "webhook-signature": signature,
        }
        assert _post(port, good, body.encode()) == 204
        assert _post(port, {**good, "webhook-signature": "v1,AAAA"}, body.encode()) == 204
    finally:
        server.shutdown()
    assert inbox.ids == ["evt-1", "evt-1"]
    assert inbox.bad_signatures == 1


def test_client_reports_a_refused_connection() -> None:
    server = chaos.start_receiver(chaos.Inbox())
    port = server.server_address[1]
    server.shutdown()
    server.server_close()

    async def go() -> None:
        await Connection("127.0.0.1", port, timeout=2).request("GET", "/")

    with pytest.raises(ConnectionLost):
        asyncio.run(go())


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) == 0.0


def test_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        chaos.main(["--help"])
    assert exit_info.value.code == 0
    assert "--kills" in capsys.readouterr().out


class _Watch(chaos.StreamWatch):
    """The streams as held, with the notifications table's ids given."""

    def __init__(self, watched: list[chaos.Watched], expected: dict[str, set[int]]) -> None:
        self.watched = watched
        self._expected = expected

    def expected(self, engine: object) -> dict[str, set[int]]:
        return self._expected


def test_streams_resumed_without_loss_or_repeat_pass() -> None:
    watched = [chaos.Watched("kasi.ciledug", connections=[[3, 5], [8, 9]])]
    report = chaos.Report()
    chaos.check_streams(_Watch(watched, {"kasi.ciledug": {3, 5, 8, 9}}), None, report)  # type: ignore[arg-type]
    assert report.violations == []
    assert report.counts["stream connections (reconnected after crashes)"] == 2


def test_a_stream_event_lost_repeated_out_of_order_or_foreign_is_a_violation() -> None:
    # 5 again after the resume, 4 before 3 on the second connection, 6 never, 7 not hers.
    watched = [chaos.Watched("kasi.ciledug", connections=[[1, 5], [5, 4, 3, 7]])]
    report = chaos.Report()
    expected = {"kasi.ciledug": {1, 3, 4, 5, 6}}
    chaos.check_streams(_Watch(watched, expected), None, report)  # type: ignore[arg-type]
    assert report.counts["notifications never on their recipient's stream"] == 1
    assert report.counts["stream events received twice across resumes"] == 1
    assert report.counts["stream ids not rising on a connection"] == 2
    assert len(report.violations) == 4
