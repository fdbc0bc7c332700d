"""The block registry: one module per kind of object a pack can bring.

A block reads one section of a pack document. It checks each entry's shape
(`check`), names it by a key unique within the organisation (`key`), finds an
object that already has that key (`existing`), creates one through its area's
own services (`create`), and on removal says whether the object holds data
users entered (`holds_data`) before taking it away (`delete`). Blocks apply
in their `order` and are removed in reverse, so a dashboard goes before the
reports on it, a pipeline's sample deals before the pipeline, and a rule
before the sequence it enrols contacts in.
"""

from dataclasses import dataclass, field


@dataclass
class Context:
    """What a block needs while a pack is applied or removed."""

    org: object
    actor: object
    membership: object
    # Objects of this run by block and key, created or kept, for blocks that
    # refer to others (a dashboard to its reports, a sample deal to its pipeline).
    objects: dict[str, dict[str, object]] = field(default_factory=dict)

    def remember(self, block: str, key: str, obj) -> None:
        self.objects.setdefault(block, {})[key] = obj

    def lookup(self, block: str, key: str):
        return self.objects.get(block, {}).get(key)


class Block:
    section = ""
    label = ""
    order = 0  # place in the apply order; removal goes the other way

    def check(self, item: dict, path: str, problems) -> None:
        raise NotImplementedError

    def check_section(self, items: list, problems) -> None:
        """Check what depends on several entries at once, after each entry's own check."""

    def arrange(self, items: list) -> list:
        """The section's entries in the order they are applied."""
        return items

    def key(self, item: dict) -> str:
        return str(item.get("name", ""))

    def describe(self, item: dict) -> str:
        return str(item.get("name", ""))

    def existing(self, ctx: Context, item: dict):
        raise NotImplementedError

    def create(self, ctx: Context, item: dict):
        raise NotImplementedError

    def find(self, ctx: Context, key: str, object_id: int):
        raise NotImplementedError

    def holds_data(self, ctx: Context, obj) -> str:
        """Why removing `obj` would lose data users entered; empty when it would not."""
        return ""

    def delete(self, ctx: Context, obj, *, delete_data: bool, changed: bool) -> str:
        """Take `obj` away (`changed`: somebody edited it since the pack made it); answer
        a note when it was switched off or trashed rather than deleted."""
        raise NotImplementedError

    def blocked(self, ctx: Context, obj) -> str:
        """Why `obj` must stay even when data may be deleted; empty when it may go."""
        return ""


REGISTRY: dict[str, Block] = {}


def register(block: Block) -> Block:
    REGISTRY[block.section] = block
    return block


def ordered() -> list[Block]:
    return sorted(REGISTRY.values(), key=lambda block: block.order)


def _load() -> None:
    from . import (  # noqa: F401 - each module registers its block
        custom_fields,
        dashboards,
        email_templates,
        loyalty,
        pipelines,
        record_types,
        relationship_roles,
        reports,
        retention_rules,
        rules,
        sample_data,
        segments,
        sequences,
        tags,
    )


_load()
