"""Housekeeping of the core tables."""

from celery import shared_task

from .idempotency import forget_old_requests


@shared_task(name="accord.core.tasks.forget_idempotent_requests")
def forget_idempotent_requests() -> int:
    """Delete kept API answers past their day; returns how many went."""
    return forget_old_requests()


@shared_task(name="accord.core.tasks.forget_rate_counters")
def forget_rate_counters() -> int:
    """Delete API request counts of windows that have passed."""
    from .ratelimit import forget_old_windows

    return forget_old_windows()


@shared_task(name="accord.core.tasks.refresh_planner_statistics")
def refresh_planner_statistics() -> bool:
    """Keep SQLite's query planner statistics current as the tables grow."""
    from .statistics import refresh

    return refresh()
