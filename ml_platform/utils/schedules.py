"""Schedules as pure functions: presets -> cron, validation, DST-correct fire times, human descriptions.

A schedule is a five-field (unix) cron expression plus an IANA time zone. Fire times are found by stepping
the expression in local wall-clock time and converting each match to UTC:
- a local time that does not exist (spring forward) fires at the first instant after the gap;
- a local time that occurs twice (fall back) fires once, at its first occurrence;
- several matches that land on the same instant fire once.
"""
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadDateError, croniter

SCHEDULE_TYPES = ("manual", "hourly", "daily", "weekly", "monthly", "cron")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, low, high, names accepted in place of numbers, first number the names map to)
FIELDS = (
    ("minute", 0, 59, (), 0),
    ("hour", 0, 23, (), 0),
    ("day of month", 1, 31, (), 1),
    ("month", 1, 12, MONTH_NAMES, 1),
    ("day of week", 0, 7, DAY_NAMES, 0),
)
TERM = re.compile(r"^(?P<base>\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(?P<step>[0-9]+))?$")
MAX_CANDIDATES = 5000


class ScheduleError(ValueError):
    """A schedule value that is wrong, with the field it belongs to."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def validate_timezone(name: str | None) -> str:
    """The IANA zone name if it exists, else ScheduleError."""
    if not name or not isinstance(name, str) or len(name) > 64:
        raise ScheduleError("Choose a time zone such as Europe/Warsaw or UTC.", field="schedule_timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ScheduleError(f"Unknown time zone '{name}': use an IANA name such as Europe/Warsaw.",
                            field="schedule_timezone") from exc
    return name


def _field_value(token: str, spec: tuple) -> int:
    name, low, high, names, first = spec
    if token.isdigit():
        value = int(token)
    elif token.upper() in names:
        value = names.index(token.upper()) + first
    else:
        raise ScheduleError(f"The {name} field has an invalid value '{token}'.", field="cron")
    if not low <= value <= high:
        raise ScheduleError(f"The {name} field value {value} is out of range {low}-{high}.", field="cron")
    return value


def _check_field(text: str, spec: tuple) -> None:
    name = spec[0]
    for part in text.split(","):
        match = TERM.match(part)
        if not match:
            raise ScheduleError(f"The {name} field '{text}' is not valid cron syntax.", field="cron")
        base, step = match["base"], match["step"]
        if step is not None and int(step) == 0:
            raise ScheduleError(f"The {name} field has a step of 0.", field="cron")
        if base != "*":
            bounds = [_field_value(token, spec) for token in base.split("-")]
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise ScheduleError(f"The {name} field range '{base}' runs backwards.", field="cron")


def validate_cron(expression: str | None) -> str:
    """The expression normalized (single spaces, aliases expanded) if it is a valid five-field cron."""
    if not expression or not isinstance(expression, str) or not expression.strip():
        raise ScheduleError("Enter a cron expression such as '0 9 * * 1-5'.", field="cron")
    text = " ".join(expression.split())
    text = ALIASES.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise ScheduleError(
            f"A cron expression has 5 fields (minute hour day-of-month month day-of-week); got {len(parts)}.",
            field="cron")
    for part, spec in zip(parts, FIELDS, strict=True):
        _check_field(part, spec)
    if not croniter.is_valid(text):
        raise ScheduleError(f"'{text}' is not a valid cron expression.", field="cron")
    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise ScheduleError(f"'{text}' never fires (no such date).", field="cron") from exc
    return text


def parse_time(value: str | time | None) -> time:
    """'HH:MM' (or a time) as a time; ScheduleError otherwise."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:00)?", value.strip()):
        hour, minute = (int(piece) for piece in value.strip().split(":")[:2])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ScheduleError("Enter a time as HH:MM, for example 09:30.", field="schedule_time")


def _bounded(value, low: int, high: int, field: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScheduleError(f"Choose {label} between {low} and {high}.", field=field)
    return value


def preset_cron(schedule_type: str, *, minute: int | None = None, at: time | None = None,
                day_of_week: int | None = None, day_of_month: int | None = None) -> str:
    """The cron expression of a preset ('' for manual). day_of_week counts Monday=0 .. Sunday=6."""
    if schedule_type == "manual":
        return ""
    if schedule_type == "hourly":
        return f"{_bounded(0 if minute is None else minute, 0, 59, 'schedule_minute', 'a minute')} * * * *"
    if schedule_type not in ("daily", "weekly", "monthly"):
        raise ScheduleError(f"Unknown schedule type '{schedule_type}'.", field="schedule_type")
    if at is None:
        raise ScheduleError(f"A {schedule_type} schedule needs a time (HH:MM).", field="schedule_time")
    clock = f"{at.minute} {at.hour}"
    if schedule_type == "daily":
        return f"{clock} * * *"
    if schedule_type == "weekly":
        weekday = _bounded(day_of_week, 0, 6, "schedule_day_of_week", "a weekday (Monday=0)")
        return f"{clock} * * {(weekday + 1) % 7}"
    day = _bounded(day_of_month, 1, 31, "schedule_day_of_month", "a day of the month")
    return f"{clock} {day} * *"


def _offset_at(instant: datetime, zone: ZoneInfo) -> timedelta:
    return instant.astimezone(zone).utcoffset()


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the DST gap that swallows the nonexistent local time `wall`."""
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    after = _offset_at(high, zone)
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _offset_at(middle, zone) == after:
            high = middle
        else:
            low = middle
    return high


def local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall time as a UTC instant: first occurrence if ambiguous, gap end if nonexistent."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, zone)


def next_fire_times(cron: str, timezone: str, *, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` fire times strictly after `after` (aware), as aware UTC datetimes."""
    zone = ZoneInfo(timezone)
    after_utc = after.astimezone(UTC)
    wall_start = after_utc.astimezone(zone).replace(tzinfo=None)
    iterator = croniter(cron, wall_start)
    fires: list[datetime] = []
    for _ in range(MAX_CANDIDATES):
        if len(fires) >= count:
            break
        try:
            wall = iterator.get_next(datetime)
        except CroniterBadDateError:
            break
        instant = local_to_utc(wall, zone)
        if instant > after_utc and (not fires or instant > fires[-1]):
            fires.append(instant)
    return fires


def next_fire_time(cron: str, timezone: str, *, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, or None if the expression never fires again."""
    fires = next_fire_times(cron, timezone, after=after, count=1)
    return fires[0] if fires else None


def describe(cron: str, timezone: str) -> str:
    """A sentence such as 'At 09:00, Monday through Friday, Europe/Warsaw'."""
    if not cron:
        return "Manual: runs only when started"
    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = "en_US"
    return f"{ExpressionDescriptor(cron, options).get_description()}, {timezone}"
