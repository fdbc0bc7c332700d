"""Health checks and the home page."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    checks = {"database": _database_ready(), "broker": _broker_ready()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "unavailable",
         "checks": {k: "ok" if v else "down" for k, v in checks.items()}},
        status=status,
    )


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("readyz.database_down")
        return False


def _broker_ready() -> bool:
    from accord.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("readyz.broker_down", extra={"broker": settings.BROKER_URL.split(":")[0]})
        return False


def pending(request, *args, **kwargs):
    """Scaffold for routes whose pages are being built; replaced by each app's views."""
    from django.http import HttpResponse

    return HttpResponse("Not built yet.", status=501)


home = search = pending
