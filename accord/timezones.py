"""Reading a stored time-zone name: a blank or unknown one is taken as UTC."""

import zoneinfo

UTC = zoneinfo.ZoneInfo("UTC")


def zone_named(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone of a user or an organisation; UTC when the name is blank or unknown."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC
