"""What the packs API reads and writes."""

from ninja import Schema
from pydantic import ConfigDict


class PackOut(Schema):
    name: str
    title: str
    version: str
    description: str
    installed_version: str | None
    upgrade: bool


class PackPage(Schema):
    items: list[PackOut]
    next: str | None = None


class PackOutcomeOut(Schema):
    section: str
    label: str
    key: str
    description: str
    outcome: str
    reason: str


class PackDetailOut(PackOut):
    plan: list[PackOutcomeOut]


class PackApplyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


class PackRemoveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    delete_data: bool = False


class PackSummaryOut(Schema):
    pack: str
    version: str
    action: str
    dry_run: bool
    counts: dict[str, int]
    outcomes: list[PackOutcomeOut]
