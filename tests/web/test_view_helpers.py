"""The dashboard's small pure helpers: time formatting, login token, redirects, run ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outreach.web.auth import safe_next
from outreach.web.runs import journey_of
from outreach.web.views import detail, relative, simtime

NOW = datetime(2025, 6, 3, 7, 18, tzinfo=UTC)


def test_simtime_is_shown_in_the_senders_zone() -> None:
    assert simtime(NOW, "Europe/Paris") == "Tue 2025-06-03 09:18 CEST"
    assert simtime(NOW) == "Tue 2025-06-03 07:18 UTC"
    assert simtime(None) == "—"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "now"),
        (timedelta(minutes=5), "in 5 min"),
        (timedelta(hours=-5, minutes=-10), "5 h ago"),
        (timedelta(days=1, hours=2), "in 1 day"),
        (timedelta(days=3, hours=1), "in 3 days"),
        (timedelta(days=-26), "26 days ago"),
    ],
)
def test_relative_times_are_coarse(delta: timedelta, text: str) -> None:
    assert relative(NOW + delta, NOW) == text


def test_event_details_show_iso_times_as_local_times() -> None:
    assert detail("2025-06-03T07:18:00+00:00", "Europe/Paris") == "Tue 2025-06-03 09:18 CEST"
    assert detail("2025-06-03T07:18:00", "UTC") == "2025-06-03T07:18:00"  # naive: left alone
    assert detail("hello") == "hello"
    assert detail(3) == "3"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/runs?status=ERROR", "/runs?status=ERROR"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_login_redirects_only_to_local_paths(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_stage_workflow_ids_link_to_their_journey() -> None:
    assert journey_of("journey-42-follow_up:3-7") == 42
    assert journey_of("journey-7-invite-1") == 7
    assert journey_of("6185fa38-b5e2-4281-9373-7d77497eb641") is None
