"""Each API token has its own budget of requests a minute."""

import pytest

from accord.core import ratelimit
from accord.core.models import RateCounter


@pytest.fixture
def small_limit(settings):
    settings.API_RATE_LIMIT = 3


def test_answers_carry_the_budget_and_the_fourth_call_is_refused(admin, api_client_for,
                                                                  small_limit):
    api = api_client_for(admin)
    answers = [api.get("/api/v1/contacts") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Policy"] == "3;w=60"
    remaining = [answer["RateLimit"].split(", ")[1] for answer in answers]
    assert remaining == ["remaining=2", "remaining=1", "remaining=0", "remaining=0"]
    refused = answers[3]
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("This token may make 3 requests a minute")


def test_each_token_counts_alone(org, admin, make_member, api_client_for, small_limit):
    first, second = api_client_for(admin), api_client_for(make_member(org))
    for _ in range(3):
        first.get("/api/v1/contacts")
    assert first.get("/api/v1/contacts").status_code == 429
    assert second.get("/api/v1/contacts").status_code == 200


def test_pages_are_not_counted(admin, client_for, small_limit):
    client = client_for(admin)
    assert [client.get("/contacts/").status_code for _ in range(5)] == [200] * 5


def test_a_new_minute_starts_a_new_count(db, settings):
    settings.BROKER_URL = "filesystem://"
    ratelimit._redis.cache_clear()
    try:
        assert ratelimit.hit("token:1", now=120.0) == (1, 60)
        assert ratelimit.hit("token:1", now=150.5) == (2, 30)
        assert ratelimit.hit("token:1", now=180.0) == (1, 60)
        assert ratelimit.forget_old_windows(now=240.0) == 1
        assert list(RateCounter.objects.values_list("window", flat=True)) == [3]
    finally:
        ratelimit._redis.cache_clear()
