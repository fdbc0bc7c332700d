"""Relationship roles beyond the built-in ones (such as "Policy holder" for insurers)."""

from accord.relationships import services as relationships
from accord.relationships.models import BUILTIN_ROLES, RelationshipRole

from . import Block, register


class RelationshipRoles(Block):
    section = "relationship_roles"
    label = "Relationship roles"
    order = 25

    def check(self, item, path, problems):
        problems.only(item, path, {"key", "label", "inverse_label"})
        if not relationships.ROLE_KEY.match(str(item.get("key", ""))):
            problems.add(f"{path}.key", "must be lower-case letters, digits and underscores, "
                                        "starting with a letter")
        problems.text(item, "label", path, limit=60)
        problems.text(item, "inverse_label", path, limit=60)

    def key(self, item):
        return str(item.get("key", ""))

    def describe(self, item):
        return f"{item.get('label')} ↔ {item.get('inverse_label')}"

    def existing(self, ctx, item):
        if item["key"] in BUILTIN_ROLES:
            return BUILTIN_ROLES[item["key"]]
        return RelationshipRole.objects.filter(key=item["key"]).first()

    def create(self, ctx, item):
        return relationships.save_role(ctx.org, ctx.actor, data=item)

    def find(self, ctx, key, object_id):
        return RelationshipRole.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = relationships.role_in_use(obj)
        return f"{count} relationship(s) use it" if count else ""

    def delete(self, ctx, obj, *, delete_data, changed):
        relationships.delete_role(ctx.org, ctx.actor, obj, with_relationships=delete_data)
        return ""


register(RelationshipRoles())
