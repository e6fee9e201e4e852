"""The schedule preview API used by the wizard and the job cards."""
import json
from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

URL = "/api/etl/schedule-preview/"


def post(client, body):
    return client.post(URL, data=json.dumps(body) if not isinstance(body, str) else body,
                       content_type="application/json")


def test_route_name_resolves_to_the_contract_path():
    assert reverse("api_etl_schedule_preview") == URL


@time_machine.travel(datetime.fromisoformat("2026-03-27T12:00:00+00:00"), tick=False)
def test_preview_lists_the_next_five_runs_local_and_utc(owner_client):
    response = post(owner_client, {"schedule_type": "weekly", "schedule_time": "02:30", "schedule_day_of_week": 6,
                                   "schedule_timezone": "Europe/Warsaw"})
    assert response.status_code == 200
    schedule = response.json()["schedule"]
    assert response.json()["status"] == "success"
    assert schedule["cron"] == "30 2 * * 0"
    assert schedule["description"] == "At 02:30, only on Sunday, Europe/Warsaw"
    assert schedule["next_runs"][:2] == [
        {"local": "2026-03-29T03:00:00+02:00", "utc": "2026-03-29T01:00:00+00:00"},  # 02:30 does not exist
        {"local": "2026-04-05T02:30:00+02:00", "utc": "2026-04-05T00:30:00+00:00"},
    ]
    assert len(schedule["next_runs"]) == 5


def test_preview_accepts_a_wrapped_schedule_config(owner_client):
    response = post(owner_client, {"schedule_config": {"schedule_type": "cron", "cron": "0 9 * * 1-5"}})
    assert response.status_code == 200
    assert response.json()["schedule"]["description"] == "At 09:00, Monday through Friday, UTC"


def test_preview_works_with_query_parameters(owner_client):
    response = owner_client.get(URL, {"schedule_type": "hourly", "schedule_minute": "15",
                                      "schedule_timezone": "America/New_York"})
    assert response.status_code == 200
    assert response.json()["schedule"]["cron"] == "15 * * * *"


def test_manual_schedule_has_no_runs(owner_client):
    response = post(owner_client, {"schedule_type": "manual"})
    assert response.status_code == 200
    assert response.json()["schedule"]["next_runs"] == []


def test_bad_cron_is_400_saying_what_is_wrong(owner_client):
    response = post(owner_client, {"schedule_type": "cron", "cron": "0 25 * * *"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["errors"] == {"cron": ["The hour field value 25 is out of range 0-23."]}
    assert "hour field" in body["message"]


def test_unknown_zone_is_400(owner_client):
    response = post(owner_client, {"schedule_type": "daily", "schedule_time": "09:00",
                                   "schedule_timezone": "Moon/Base"})
    assert response.status_code == 400
    assert "schedule_timezone" in response.json()["errors"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"daily"', '{"schedule_type": 5}',
                                  '{"schedule_type": "daily", "schedule_time": {"h": 1}}',
                                  '{"schedule_type": "hourly", "schedule_minute": 1e300}'])
def test_garbage_is_a_400_never_a_500(owner_client, body):
    assert post(owner_client, body).status_code == 400


def test_anonymous_gets_401(client):
    assert post(client, {"schedule_type": "manual"}).status_code == 401


def test_other_users_get_the_same_answer_because_nothing_is_owned(other_client):
    assert post(other_client, {"schedule_type": "manual"}).status_code == 200


def test_post_without_csrf_token_is_refused(csrf_client):
    assert post(csrf_client, {"schedule_type": "manual"}).status_code == 403


def test_other_methods_are_405(owner_client):
    assert owner_client.delete(URL).status_code == 405
