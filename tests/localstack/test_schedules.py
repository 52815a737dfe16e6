"""Schedule expressions: rate, EventBridge cron (six fields, names, steps, time zones) and one-time at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saldo_tools.localstack.schedules import Recurring, at_time, cron_matches, rate_seconds

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


def test_rate_expressions():
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(2 hours)") == 7200
    assert rate_seconds("rate(1 day)") == 86400
    assert rate_seconds("cron(0 * * * ? *)") is None
    with pytest.raises(ValueError):
        rate_seconds("rate(3 fortnights)")


def test_at_expressions_in_utc_and_in_a_time_zone():
    assert at_time("at(2030-06-01T12:00:00)") == datetime(2030, 6, 1, 12, tzinfo=UTC)
    assert at_time("at(2030-06-01T12:00:00)", "Europe/Oslo") == datetime(2030, 6, 1, 10, tzinfo=UTC)  # CEST
    assert at_time("at(2030-01-01T12:00:00)", "Europe/Oslo") == datetime(2030, 1, 1, 11, tzinfo=UTC)  # CET
    assert at_time("rate(1 hour)") is None


def test_cron_fields():
    assert cron_matches("cron(0 8 ? * MON-FRI *)", T0)
    assert not cron_matches("cron(0 8 ? * SAT,SUN *)", T0)
    assert cron_matches("cron(0/15 * * * ? *)", T0 + timedelta(minutes=45))
    assert not cron_matches("cron(0/15 * * * ? *)", T0 + timedelta(minutes=50))
    assert cron_matches("cron(0 8 2 MAR ? 2026)", T0)
    assert not cron_matches("cron(0 8 2 MAR ? 2027)", T0)
    with pytest.raises(ValueError, match="six fields"):
        cron_matches("cron(0 8 * * *)", T0)


def test_rate_fires_after_each_period_from_the_last_firing():
    clock = Recurring("rate(10 minutes)", T0)
    assert not clock.due(T0 + timedelta(minutes=9))
    assert clock.due(T0 + timedelta(minutes=12))
    assert not clock.due(T0 + timedelta(minutes=21))
    assert clock.due(T0 + timedelta(minutes=22))


def test_cron_in_a_time_zone_fires_at_local_time():
    clock = Recurring("cron(30 2 * * ? *)", T0, "Europe/Oslo")
    assert clock.next == datetime(2026, 3, 3, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert clock.due(datetime(2026, 3, 3, 1, 30, tzinfo=UTC))
    assert clock.next == datetime(2026, 3, 4, 1, 30, tzinfo=UTC)


def test_one_time_schedule_fires_once():
    clock = Recurring("at(2026-03-02T09:00:00)", T0)
    assert not clock.due(T0)
    assert clock.due(T0 + timedelta(hours=2))
    assert clock.next is None
    assert not clock.due(T0 + timedelta(days=3))


def test_unsupported_expressions_are_refused():
    with pytest.raises(ValueError):
        Recurring("every tuesday", T0)
