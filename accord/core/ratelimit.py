"""Per-caller API rate limits, with `RateLimit` headers and 429 + `Retry-After` beyond them.

Each API token (or signed-in user calling the API from the browser) may make
`API_RATE_LIMIT` requests a minute. Counts live in Redis when the broker is
Redis, so every web process shares them; otherwise in the database, which
every process of a single-machine install shares too.
"""

import logging
import time
from functools import cache

from django.conf import settings
from django.db import connection

from .models import RateCounter

logger = logging.getLogger(__name__)

WINDOW = 60  # seconds


@cache
def _redis():
    if not settings.BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(settings.BROKER_URL, socket_timeout=1)


def _namespace() -> str:
    # Two installs (or two test runs) sharing one Redis must not share counts.
    return str(settings.DATABASES["default"]["NAME"])


def hit(caller: str, now: float | None = None) -> tuple[int, int]:
    """Count one request of `caller`; (requests in this window, seconds until it ends)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    reset = WINDOW - int(now % WINDOW)
    client = _redis()
    if client is not None:
        key = f"accord:ratelimit:{_namespace()}:{caller}:{window}"
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW * 2)
        count, _ = pipe.execute()
        return int(count), reset
    # One statement, so that concurrent requests each see their own count.
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    window_column = connection.ops.quote_name("window")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, {window_column}, count) VALUES (%s, %s, 1) "  # noqa: S608 - names from the model, values bound
            f"ON CONFLICT (key, {window_column}) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [caller, window],
        )
        count = cursor.fetchone()[0]
    return count, reset


def forget_old_windows(now: float | None = None) -> int:
    now = time.time() if now is None else now
    deleted, _ = RateCounter.objects.filter(window__lt=int(now // WINDOW) - 1).delete()
    return deleted


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") or request.membership is None:
            return self.get_response(request)
        limit = settings.API_RATE_LIMIT
        # The token's random prefix and the user's join time keep a key
        # distinct from that of a deleted token or user whose id came back.
        caller = (f"token:{request.api_token.prefix}" if request.api_token is not None
                  else f"user:{request.user.pk}:{int(request.user.date_joined.timestamp())}")
        count, reset = hit(caller)
        remaining = max(limit - count, 0)
        if count > limit:
            from accord.api import problem

            logger.warning("api.rate_limited", extra={
                "organization_id": request.organization.id, "caller": caller})
            response = problem(
                request, status=429, code="rate-limited", title="Too many requests",
                detail=f"This token may make {limit} requests a minute; wait {reset} s.")
            response["Retry-After"] = str(reset)
        else:
            response = self.get_response(request)
        response["RateLimit-Policy"] = f"{limit};w={WINDOW}"
        response["RateLimit"] = f"limit={limit}, remaining={remaining}, reset={reset}"
        return response
