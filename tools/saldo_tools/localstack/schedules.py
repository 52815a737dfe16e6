"""When schedules are due: `rate(...)`, `cron(...)` (EventBridge's six fields) and one-time `at(...)`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MON = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}


def rate_seconds(expression: str) -> int | None:
    m = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression.strip())
    if not m:
        return None
    if m.group(2) not in _UNITS:
        raise ValueError(f"unsupported rate unit in {expression}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def at_time(expression: str, timezone: str | None = None) -> datetime | None:
    """The UTC moment of a one-time `at(yyyy-mm-ddThh:mm:ss)` expression, read in `timezone`."""
    m = re.fullmatch(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)", expression.strip())
    if not m:
        return None
    return datetime.fromisoformat(m.group(1)).replace(tzinfo=ZoneInfo(timezone or "UTC")).astimezone(UTC)


def _field_matches(spec: str, value: int, names: dict[str, int] | None = None) -> bool:
    if spec in ("*", "?"):
        return True
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/")
            step = int(step_s)
        if names:
            for name, num in names.items():
                part = part.replace(name, str(num))
        if part in ("*", ""):
            lo, hi = 0, 10_000
        elif "-" in part:
            lo, hi = (int(x) for x in part.split("-"))
        else:
            lo = hi = int(part)
            if step > 1:
                hi = 10_000
        if lo <= value <= hi and (value - lo) % step == 0:
            return True
    return False


def cron_matches(expression: str, moment: datetime) -> bool:
    """EventBridge cron: minutes hours day-of-month month day-of-week year, in `moment`'s time zone."""
    m = re.fullmatch(r"cron\((.+)\)", expression.strip())
    if not m:
        return False
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"cron needs six fields: {expression}")
    minute, hour, dom, month, dow, year = fields
    eb_dow = moment.isoweekday() % 7 + 1  # EventBridge: 1 = Sunday
    return (
        _field_matches(minute, moment.minute)
        and _field_matches(hour, moment.hour)
        and _field_matches(dom, moment.day)
        and _field_matches(month, moment.month, _MON)
        and _field_matches(dow, eb_dow, _DOW)
        and _field_matches(year, moment.year)
    )


class Recurring:
    """Tracks the next firing of a `rate`, `cron` or one-time `at` expression (`next` is None when done)."""

    def __init__(self, expression: str, start: datetime, timezone: str | None = None) -> None:
        self.expression = expression.strip()
        self.zone = ZoneInfo(timezone or "UTC")
        self.period = rate_seconds(self.expression)
        self.once = at_time(self.expression, timezone)
        self.next: datetime | None
        if self.period:
            self.next = start + timedelta(seconds=self.period)
        elif self.once:
            self.next = self.once
        elif self.expression.startswith("cron("):
            self.next = self._next_cron(start)
        else:
            raise ValueError(f"unsupported schedule expression: {expression}")

    def _next_cron(self, after: datetime) -> datetime:
        moment = after.astimezone(self.zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 366):
            if cron_matches(self.expression, moment):
                return moment.astimezone(UTC)
            moment += timedelta(minutes=1)
        raise ValueError(f"cron never fires within a year: {self.expression}")

    def due(self, now: datetime) -> bool:
        """True once per firing: when `now` has reached the next firing time (which then moves on)."""
        if self.next is None or now < self.next:
            return False
        if self.once:
            self.next = None
        elif self.period:
            self.next = now + timedelta(seconds=self.period)
        else:
            self.next = self._next_cron(now)
        return True
