"""Upkeep looks in a thread of their own: at once, then again and again, on past failures, until stopped."""

from __future__ import annotations

import threading
import time

from structlog.testing import capture_logs

from tickets.every import Every


def wait_for(condition: object, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if callable(condition) and condition():
            return True
        time.sleep(0.005)
    return False


def test_a_look_runs_at_once_and_again_until_stopped_and_then_its_end_runs_in_its_thread() -> None:
    looks: list[str] = []
    ended: list[str] = []
    every = Every("counting", 0.01, lambda: looks.append(threading.current_thread().name),
                  done=lambda: ended.append(threading.current_thread().name)).start()
    assert wait_for(lambda: len(looks) >= 3)
    every.stop()
    stopped_at = len(looks)
    time.sleep(0.05)
    assert len(looks) == stopped_at
    assert set(looks) == {"counting"} and ended == ["counting"]


def test_a_failing_look_is_tried_again_and_logged_once_until_it_recovers() -> None:
    calls: list[int] = []

    def look() -> None:
        calls.append(1)
        if len(calls) <= 3:
            raise ConnectionError("database away")

    with capture_logs() as logs:
        every = Every("flaky", 0.005, look).start()
        try:
            assert wait_for(lambda: len(calls) >= 5)
        finally:
            every.stop()
    warned = [(entry["event"], entry.get("error")) for entry in logs
              if entry.get("look") == "flaky" and entry["log_level"] == "warning"]
    assert warned == [("look_failed", "ConnectionError")]  # three failures in a row, said once
