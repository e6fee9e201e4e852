"""Pure schedule functions: presets, validation, DST-correct fire times (clock pinned), descriptions."""
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_platform.etl.scheduling import schedule_preview
from ml_platform.utils import schedules
from ml_platform.utils.schedules import ScheduleError


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(cron: str, zone: str, after: datetime, count: int = 4) -> list[str]:
    return [f.isoformat() for f in schedules.next_fire_times(cron, zone, after=after, count=count)]


@pytest.mark.parametrize(("kind", "kwargs", "expected"), [
    ("manual", {}, ""),
    ("hourly", {"minute": 15}, "15 * * * *"),
    ("hourly", {}, "0 * * * *"),
    ("daily", {"at": time(9, 30)}, "30 9 * * *"),
    ("weekly", {"at": time(9, 0), "day_of_week": 0}, "0 9 * * 1"),
    ("weekly", {"at": time(9, 0), "day_of_week": 6}, "0 9 * * 0"),
    ("monthly", {"at": time(2, 5), "day_of_month": 31}, "5 2 31 * *"),
])
def test_presets_become_cron_expressions(kind, kwargs, expected):
    assert schedules.preset_cron(kind, **kwargs) == expected


@pytest.mark.parametrize(("kind", "kwargs", "field"), [
    ("hourly", {"minute": 60}, "schedule_minute"),
    ("daily", {}, "schedule_time"),
    ("weekly", {"at": time(9, 0), "day_of_week": 7}, "schedule_day_of_week"),
    ("weekly", {"at": time(9, 0)}, "schedule_day_of_week"),
    ("monthly", {"at": time(9, 0), "day_of_month": 0}, "schedule_day_of_month"),
    ("yearly", {}, "schedule_type"),
])
def test_presets_with_missing_or_wrong_values_name_the_field(kind, kwargs, field):
    with pytest.raises(ScheduleError) as caught:
        schedules.preset_cron(kind, **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(("expression", "normalized"), [
    ("0 9 * * 1-5", "0 9 * * 1-5"),
    ("  0   9 * *   MON-FRI ", "0 9 * * MON-FRI"),
    ("*/15 0-6,22 1,15 JAN-JUN 0-7", "*/15 0-6,22 1,15 JAN-JUN 0-7"),
    ("@hourly", "0 * * * *"),
    ("@DAILY", "0 0 * * *"),
    ("0 0 29 2 *", "0 0 29 2 *"),
])
def test_valid_cron_is_normalized(expression, normalized):
    assert schedules.validate_cron(expression) == normalized


@pytest.mark.parametrize(("expression", "message"), [
    ("", "Enter a cron expression"),
    ("* * *", "has 5 fields"),
    ("0 0 0 * * *", "got 6"),
    ("61 * * * *", "minute field value 61 is out of range 0-59"),
    ("0 24 * * *", "hour field value 24 is out of range 0-23"),
    ("0 0 32 * *", "day of month field value 32"),
    ("0 0 * 13 *", "month field value 13"),
    ("0 0 * * 8", "day of week field value 8"),
    ("5-1 * * * *", "runs backwards"),
    ("*/0 * * * *", "step of 0"),
    ("0 0 L * *", "invalid value 'L'"),
    ("0 0 * * MON#2", "not valid cron syntax"),
    ("0 0 30 2 *", "never fires"),
    ("0;rm * * * *", "not valid cron syntax"),
])
def test_invalid_cron_says_what_is_wrong(expression, message):
    with pytest.raises(ScheduleError) as caught:
        schedules.validate_cron(expression)
    assert caught.value.field == "cron"
    assert message in caught.value.message


@pytest.mark.parametrize("zone", ["UTC", "Europe/Warsaw", "America/New_York", "Asia/Kolkata"])
def test_iana_zones_are_accepted(zone):
    assert schedules.validate_timezone(zone) == zone


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/" + "x" * 80,
                                  None])
def test_unknown_zones_are_rejected(zone):
    with pytest.raises(ScheduleError) as caught:
        schedules.validate_timezone(zone)
    assert caught.value.field == "schedule_timezone"


@pytest.mark.parametrize("value", ["9", "24:00", "09:60", "nine", "09:30:15", 930])
def test_bad_times_are_rejected(value):
    with pytest.raises(ScheduleError):
        schedules.parse_time(value)


def test_description_is_a_human_sentence_with_the_zone():
    assert schedules.describe("0 9 * * 1-5", "Europe/Warsaw") == "At 09:00, Monday through Friday, Europe/Warsaw"
    assert schedules.describe("*/15 * * * *", "UTC") == "Every 15 minutes, UTC"
    assert schedules.describe("", "UTC").startswith("Manual")


# Europe/Warsaw: 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC); 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC).
# America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).

def test_warsaw_spring_forward_nonexistent_time_fires_once_right_after_the_gap():
    assert fires("30 2 * * *", "Europe/Warsaw", utc(2026, 3, 28, 12), 3) == [
        "2026-03-29T01:00:00+00:00",  # 02:30 does not exist: fires at 03:00 CEST
        "2026-03-30T00:30:00+00:00",
        "2026-03-31T00:30:00+00:00",
    ]


def test_warsaw_spring_forward_keeps_daily_wall_clock_time():
    assert fires("0 9 * * *", "Europe/Warsaw", utc(2026, 3, 28, 12), 2) == [
        "2026-03-29T07:00:00+00:00", "2026-03-30T07:00:00+00:00"]


def test_warsaw_spring_forward_collapses_matches_inside_the_gap():
    assert fires("*/30 * * * *", "Europe/Warsaw", utc(2026, 3, 29, 0, 15), 4) == [
        "2026-03-29T00:30:00+00:00", "2026-03-29T01:00:00+00:00",
        "2026-03-29T01:30:00+00:00", "2026-03-29T02:00:00+00:00"]


def test_warsaw_fall_back_ambiguous_time_fires_once():
    assert fires("30 2 * * *", "Europe/Warsaw", utc(2026, 10, 24, 12), 3) == [
        "2026-10-25T00:30:00+00:00",  # first 02:30 (CEST) only
        "2026-10-26T01:30:00+00:00",
        "2026-10-27T01:30:00+00:00",
    ]


def test_new_york_spring_forward_nonexistent_time_fires_once_right_after_the_gap():
    assert fires("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12), 3) == [
        "2026-03-08T07:00:00+00:00", "2026-03-09T06:30:00+00:00", "2026-03-10T06:30:00+00:00"]


def test_new_york_fall_back_ambiguous_time_fires_once_even_when_asked_during_the_second_hour():
    assert fires("30 1 * * *", "America/New_York", utc(2026, 10, 31, 12), 2) == [
        "2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"]
    # 06:45 UTC is 01:45 EST, the second 01:xx hour: the 01:30 slot already fired in the first one.
    assert fires("30 1 * * *", "America/New_York", utc(2026, 11, 1, 6, 45), 1) == ["2026-11-02T06:30:00+00:00"]


def test_new_york_hourly_schedule_across_fall_back_never_fires_twice_for_one_wall_time():
    assert fires("0 * * * *", "America/New_York", utc(2026, 11, 1, 4), 4) == [
        "2026-11-01T05:00:00+00:00", "2026-11-01T07:00:00+00:00",
        "2026-11-01T08:00:00+00:00", "2026-11-01T09:00:00+00:00"]


@pytest.mark.parametrize(("pinned", "zone", "cron", "local", "utc_first"), [
    ("2026-03-29T00:59:00+00:00", "Europe/Warsaw", "0 9 * * 1-5", "2026-03-30T09:00:00+02:00",
     "2026-03-30T07:00:00+00:00"),
    ("2026-10-25T00:59:00+00:00", "Europe/Warsaw", "0 9 * * 1-5", "2026-10-26T09:00:00+01:00",
     "2026-10-26T08:00:00+00:00"),
    ("2026-03-08T06:59:00+00:00", "America/New_York", "0 9 * * *", "2026-03-08T09:00:00-04:00",
     "2026-03-08T13:00:00+00:00"),
    ("2026-11-01T05:59:00+00:00", "America/New_York", "0 9 * * *", "2026-11-01T09:00:00-05:00",
     "2026-11-01T14:00:00+00:00"),
])
def test_preview_with_the_clock_pinned_on_each_transition(pinned, zone, cron, local, utc_first):
    with time_machine.travel(datetime.fromisoformat(pinned), tick=False):
        result = schedule_preview(data={"schedule_type": "cron", "cron": cron, "schedule_timezone": zone})
    assert result["next_runs"][0] == {"local": local, "utc": utc_first}
    assert result["next_run_at"] == utc_first
    assert len(result["next_runs"]) == 5


def test_fire_times_are_strictly_after_the_given_instant():
    assert fires("0 * * * *", "UTC", utc(2026, 1, 1, 10), 1) == ["2026-01-01T11:00:00+00:00"]


def test_an_expression_that_fires_rarely_still_previews():
    assert fires("0 0 29 2 *", "UTC", utc(2026, 1, 1), 1) == ["2028-02-29T00:00:00+00:00"]


@settings(max_examples=60, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(["Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]),
    cron=st.sampled_from(["*/7 * * * *", "30 2 * * *", "0 1,2,3 * * 0", "15 * * * *", "0 0 1 * *"]),
)
def test_fire_times_always_increase_and_each_is_a_matching_or_gap_shifted_local_time(instant, zone, cron):
    times = schedules.next_fire_times(cron, zone, after=instant, count=6)
    assert len(times) == 6
    assert all(later > earlier for earlier, later in zip([instant, *times], times, strict=False))
    tz = schedules.ZoneInfo(zone)
    for fire in times:
        wall = fire.astimezone(tz).replace(tzinfo=None)
        matches = croniter.match(cron, wall)
        shifted = fire.astimezone(tz).utcoffset() != (fire - timedelta(seconds=1)).astimezone(tz).utcoffset()
        assert matches or shifted, (fire, wall)
