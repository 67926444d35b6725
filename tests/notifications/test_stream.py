"""GET /stream through a real uvicorn, read by an httpx streaming client as the SPA reads it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from app.core.config import get_settings
from app.notifications import stream
from tests.lifecycle.flow import INCIDENT

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()

    def next_event(self) -> dict[str, Any]:
        """The next event's fields (comment lines, the pings, skipped)."""
        event: dict[str, Any] = {}
        for line in self.lines:
            if not line:
                if event:
                    return event
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")
        raise AssertionError(f"the stream ended; so far {event}")


@pytest.fixture
def open_stream(live_url, auth):  # type: ignore[no-untyped-def]
    @contextmanager
    def opened(username: str, **headers: str) -> Iterator[Stream]:
        with (
            httpx.Client(base_url=live_url, timeout=httpx.Timeout(10.0)) as http,
            http.stream("GET", "/api/v1/stream", headers={**auth(username), **headers}) as response,
        ):
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = Stream(response)
            assert stream.next_event()["event"] == "ready"
            yield stream

    return opened


def test_a_task_assigned_by_another_users_action_arrives(open_stream, flow, fan_out, told):
    with open_stream("camat.ciledug") as stream:
        flow.create()  # by the Kasi Trantib: the Camat now has a task
        fan_out()
        event = stream.next_event()
    assert event["event"] == "task.assigned"
    [notification] = told("camat.ciledug")
    assert int(event["id"]) == notification["id"]
    assert json.loads(event["data"])["incident_id"] == notification["incident_id"]


def test_an_open_app_hears_of_an_action_within_a_poll_without_the_worker(
    open_stream, flow, told
) -> None:
    # No fan-out pass by the test and no worker: the API process holding the stream tells.
    with open_stream("camat.ciledug") as stream:
        created = flow.create()
        # Without the process's own pass nothing would come: the read times out.
        event = stream.next_event()
    assert event["event"] == "task.assigned"
    assert json.loads(event["data"])["incident_id"] == created["id"]


def test_resume_replays_what_was_missed(open_stream, flow, fan_out, told):
    flow.create()
    fan_out()
    [notification] = told("camat.ciledug")
    with open_stream("camat.ciledug", **{"Last-Event-ID": "0"}) as stream:
        event = stream.next_event()
    assert (event["event"], int(event["id"])) == ("task.assigned", notification["id"])


def test_more_missed_than_the_backlog_is_a_reset(
    open_stream, flow, flow_for, fan_out, told, monkeypatch
):
    monkeypatch.setattr(get_settings(), "stream_backlog_limit", 1)
    flow.create()
    flow_for("ciledug").create()
    fan_out()
    newest = told("camat.ciledug")[-1]["id"]
    with open_stream("camat.ciledug", **{"Last-Event-ID": "0"}) as stream:
        event = stream.next_event()
    assert (event["event"], int(event["id"])) == ("reset", newest)


def test_beyond_the_per_user_cap_is_429(open_stream, live_url, auth, monkeypatch):
    monkeypatch.setattr(get_settings(), "stream_per_user_cap", 2)
    with open_stream("camat.ciledug"), open_stream("camat.ciledug"):
        response = httpx.get(f"{live_url}/api/v1/stream", headers=auth("camat.ciledug"))
        assert response.status_code == 429, response.text
        assert response.json()["type"] == PROBLEM + "too-many-streams"
        # Another user is not counted against the Camat's streams.
        with open_stream("kasi.ciledug"):
            pass


@pytest.mark.parametrize(
    ("username", "headers", "status", "kind"),
    [
        (None, {}, 401, "unauthorized"),
        ("admin", {}, 403, "insufficient-scope"),
        ("camat.ciledug", {"Last-Event-ID": "soon"}, 422, "validation-error"),
    ],
)
def test_refusals(live_url, auth, username, headers, status, kind) -> None:  # type: ignore[no-untyped-def]
    headers = {**(auth(username) if username else {}), **headers}
    response = httpx.get(f"{live_url}/api/v1/stream", headers=headers, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + kind


def test_each_stream_carries_only_its_users_notifications(open_stream, flow, flow_for, fan_out):
    with open_stream("camat.cipondoh") as other:
        flow.create()  # in Ciledug: the Camat of Cipondoh is not told of it
        fan_out()
        elsewhere = flow_for("cipondoh")
        elsewhere.create(location={**INCIDENT["location"], "kelurahan": "Petir"})
        fan_out()
        # The first thing they hear is from Cipondoh: the Ciledug event passed them by.
        assert json.loads(other.next_event()["data"])["incident_id"] == elsewhere.incident_id


def test_the_stream_ends_when_the_access_token_expires(open_stream, monkeypatch):
    monkeypatch.setattr(get_settings(), "access_token_minutes", 0.05)
    started = time.monotonic()
    with open_stream("camat.ciledug") as stream, pytest.raises(AssertionError, match="ended"):
        stream.next_event()
    assert time.monotonic() - started < 8


def test_forty_open_streams_leave_the_api_answering(live_url, auth, monkeypatch):
    # Four turns for requests, ten times as many open streams: a stream that took a turn would
    # hold it for hours, the fifth stream and GET /tasks would wait and then get 503.
    settings = get_settings()
    monkeypatch.setattr(settings, "stream_per_user_cap", 40)
    monkeypatch.setattr(settings, "max_requests_in_progress", 4)
    monkeypatch.setattr(settings, "queue_timeout_seconds", 2.0)
    headers = auth("camat.ciledug")
    limits = httpx.Limits(max_connections=50)
    with httpx.Client(base_url=live_url, timeout=10, limits=limits) as http, ExitStack() as open_:
        # Each reader kept: a reader let go closes its connection, and the stream with it.
        streams = []
        for _ in range(40):
            response = open_.enter_context(http.stream("GET", "/api/v1/stream", headers=headers))
            streams.append(Stream(response))
            assert streams[-1].next_event()["event"] == "ready"
        started = time.monotonic()
        tasks = http.get("/api/v1/tasks", headers=headers)
        took = time.monotonic() - started
        # The forty are still open: the server counts them against the Camat's cap.
        beyond = httpx.get(f"{live_url}/api/v1/stream", headers=headers)
    assert tasks.status_code == 200, tasks.text
    assert took < 1.0
    assert beyond.status_code == 429, beyond.text
    assert beyond.json()["type"] == PROBLEM + "too-many-streams"


def test_concurrent_fan_out_passes_lose_and_repeat_nothing(open_stream, flow, engine, told):
    # Two workers' passes and the API process's own, all at once, while actions commit: a
    # notification committed after a higher id was read would be skipped by "rows after id".
    from app.notifications.fanout import run_pass

    incidents = 8
    stop = threading.Event()
    failures: list[BaseException] = []

    def passes() -> None:
        try:
            while not stop.is_set():
                run_pass(engine)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    with open_stream("camat.ciledug") as stream:
        workers = [threading.Thread(target=passes) for _ in range(2)]
        for worker in workers:
            worker.start()
        try:
            for _ in range(incidents):
                flow.create()  # by the Kasi Trantib: each one a task for the Camat
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=30)
        run_pass(engine)
        expected = [n["id"] for n in told("camat.ciledug")]
        arrived: list[int] = []
        while len(arrived) < len(expected):
            event = stream.next_event()
            if "id" in event:
                arrived.append(int(event["id"]))
    assert not failures, failures
    assert len(expected) == incidents
    assert sorted(arrived) == sorted(expected)


def test_a_fan_out_pass_waits_for_the_one_in_progress(open_stream, flow, engine, told):
    # Serialised passes commit in id order: one that could commit past a pass still open
    # would let a stream read its higher id first and skip the lower one committed later.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer anyway")
    from sqlmodel import Session

    from app.notifications.fanout import lock, run_pass

    with open_stream("camat.ciledug") as stream:
        with Session(engine) as in_progress:
            lock(in_progress)
            flow.create()  # the API process's own pass waits for the lock too
            second = threading.Thread(target=run_pass, args=(engine,))
            second.start()
            second.join(timeout=1.5)
            waited = second.is_alive()
            in_progress.commit()
        second.join(timeout=30)
        event = stream.next_event()
    assert waited
    [notification] = told("camat.ciledug")
    assert (event["event"], int(event["id"])) == ("task.assigned", notification["id"])


def test_a_burst_of_streams_opening_at_once_all_open(live_url, auth, monkeypatch):
    # Every app reconnects at once after a restart. Each opening looks its caller up on a
    # pooled connection; the process's reader, starting with the first of them, needs one
    # too. Openings that kept theirs while waiting for the reader held every connection of
    # the pool, and all failed at the pool's timeout. The reader's start is slowed so that
    # the whole burst arrives before it.
    newest = stream._newest_id

    def slow_newest(*args: Any) -> int:
        time.sleep(0.5)
        return newest(*args)

    monkeypatch.setattr(stream, "_newest_id", slow_newest)
    settings = get_settings()
    monkeypatch.setattr(settings, "stream_per_user_cap", 60)
    headers = auth("camat.ciledug")
    ready: list[str] = []
    barrier = threading.Barrier(60)

    def one() -> None:
        with httpx.Client(base_url=live_url, timeout=30) as http:
            barrier.wait()
            with http.stream("GET", "/api/v1/stream", headers=headers) as response:
                if response.status_code != 200:
                    ready.append(f"{response.status_code} {response.read()!r}")
                    return
                ready.append(Stream(response).next_event()["event"])

    threads = [threading.Thread(target=one) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert ready == ["ready"] * 60
