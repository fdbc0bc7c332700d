"""What a member reading a workflow rule is shown of it.

A rule written by someone who sees more (an admin, say) may name custom fields
hidden from the reader's role: in its date, its conditions or its actions.
Rules and their runs are stored whole and masked here, per reader, when shown:
a condition or action on such a field reads as one on "a field hidden from
you", a date run neither names the date field nor gives the day, and a run's
entries neither name the field nor give a value. The reader may not try or
change such a rule, as its answers would tell the hidden values.
"""

import re

from django.utils.translation import gettext as _

from accord.customers.models import CustomField
from accord.identity.models import Role
from accord.records.models import RecordField

from . import custom_records, triggers
from .models import Rule, RuleRun, Trigger

GROUPS = ("all", "any")
HIDDEN_NODE = {"hidden": True}


def hidden_field_text() -> str:
    return _("a field hidden from you")


class Reader:
    """The custom fields hidden from one member's role, read once; an admin, or None for
    code acting for the organisation, has none."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.conditions: set[str] = set()  # cf.<key>, company.cf.<key>
        self.dates: set[str] = set()  # contact.custom.<key>, record:<type>.<key>
        self.record_fields: set[tuple[str, str]] = set()  # (record:<type>, key)
        self.set_names: set[str] = set()  # cf.<key>, as set_field names a custom field
        tokens: list[str] = []
        if viewer is None or viewer.role == Role.ADMIN:
            self.tokens = None
            return
        role = viewer.role
        for field in CustomField.objects.only("entity", "key", "hidden_from_roles"):
            if role not in (field.hidden_from_roles or []):
                continue
            tokens.append(re.escape(field.key))
            self.set_names.add(f"cf.{field.key}")
            if field.entity == "contact":
                self.conditions.add(f"cf.{field.key}")
                self.dates.add(f"{triggers.CUSTOM_DATE_PREFIX}{field.key}")
            elif field.entity == "company":
                self.conditions.add(f"company.cf.{field.key}")
        for field in RecordField.objects.select_related("record_type").only(
                "key", "hidden_from_roles", "record_type__key"):
            if role not in (field.hidden_from_roles or []):
                continue
            entity = f"{custom_records.PREFIX}{field.record_type.key}"
            self.record_fields.add((entity, field.key))
            self.dates.add(f"{entity}.{field.key}")
        # A custom field as a `set_field` name (`cf.<key>`) or in a message
        # (`{{ contact.custom.<key> }}`).
        self.tokens = (re.compile(rf"\b(?:cf|custom)\.(?:{'|'.join(tokens)})\b")
                       if tokens else None)

    @property
    def sees_all(self) -> bool:
        return not (self.conditions or self.dates or self.record_fields or self.tokens)

    # What a rule uses

    def hidden_node(self, node) -> bool:
        return isinstance(node, dict) and (
            node.get("hidden") is True or str(node.get("field", "")) in self.conditions)

    def tree_hides(self, tree) -> bool:
        """Whether a condition tree names a field hidden from the reader."""
        if isinstance(tree, dict) and len(tree) == 1 and next(iter(tree)) in GROUPS:
            children = next(iter(tree.values()))
            return isinstance(children, list) and any(self.tree_hides(c) for c in children)
        return self.hidden_node(tree)

    def settings_hide(self, rule: Rule) -> set[str]:
        """The names of the rule's settings that name a field hidden from the reader."""
        settings = rule.settings or {}
        names = set()
        if rule.trigger == Trigger.DATE_REACHED and str(settings.get("date", "")) in self.dates:
            names.add("date")
        if rule.trigger == Trigger.FIELD_CHANGED and (
                str(settings.get("entity", "")), str(settings.get("field", ""))
        ) in self.record_fields:
            names.add("field")
        return names

    def action_hides(self, rule: Rule, action) -> bool:
        """Whether an action sets, or writes out, a field hidden from the reader."""
        if self.sees_all or not isinstance(action, dict):
            return False
        entity = triggers.rule_entity(rule)
        # A member's own texts render hidden fields empty (actions.py) and are theirs:
        # masking them would tell which of the keys they typed are hidden fields.
        own = (rule.edited_by_id or rule.created_by_id) == self.viewer.user_id
        for value in _strings(action):
            if value in self.set_names or (entity, value) in self.record_fields:
                return True
            if not own and self.tokens is not None and self.tokens.search(value):
                return True
        return False

    def rule_hides(self, rule: Rule) -> bool:
        """Whether the rule's trigger, conditions or actions use a field hidden from the
        reader, so that trying or changing it would tell the reader about that field."""
        if self.sees_all:
            return False
        return bool(self.settings_hide(rule) or self.tree_hides(rule.conditions)
                    or any(self.action_hides(rule, action) for action in rule.actions or []))

    # The rule as shown

    def masked_tree(self, tree):
        if isinstance(tree, dict) and len(tree) == 1 and next(iter(tree)) in GROUPS:
            (match, children), = tree.items()
            if not isinstance(children, list):
                return tree
            return {match: [self.masked_tree(child) for child in children]}
        return dict(HIDDEN_NODE) if self.hidden_node(tree) else tree

    def masked_settings(self, rule: Rule) -> dict:
        settings = dict(rule.settings or {})
        for name in self.settings_hide(rule):
            settings[name] = hidden_field_text()
        return settings

    def masked_actions(self, rule: Rule) -> list:
        return [{"type": action.get("type", ""), "hidden": True}
                if self.action_hides(rule, action) else action for action in rule.actions or []]

    def rule_out(self, rule: Rule) -> Rule | dict:
        """The rule as the reader may read it (the stored rule when nothing is hidden)."""
        if self.sees_all:
            return rule
        return {**{name: getattr(rule, name) for name in (
            "id", "name", "trigger", "is_active", "starter", "created_at", "updated_at",
            "version")},
            "settings": self.masked_settings(rule),
            "conditions": self.masked_tree(rule.conditions or {}),
            "actions": self.masked_actions(rule)}

    # Runs as shown

    def run_out(self, run: RuleRun, conditions) -> RuleRun:
        """The run with what concerns a hidden field masked, changed in memory only (the
        stored run stays whole); `conditions` describes condition trees."""
        stored = run.log or []
        run.log = [{key: value for key, value in entry.items() if key != "conditions"}
                   if isinstance(entry, dict) else entry for entry in stored]
        if self.sees_all:
            return run
        name = run.trigger_text.split(" = ", 1)[0]
        if run.key.startswith("date:") and name in self.dates:
            run.key = f"date:{run.object_id}:hidden"
            run.trigger_text = _("A field hidden from you reached its date")
        for entry, whole in zip(run.log, stored, strict=False):
            if not isinstance(entry, dict):
                continue
            index = entry.get("index")
            tree = whole.get("conditions") if isinstance(whole, dict) else None
            if tree is not None and self.tree_hides(tree):
                entry["detail"] = _("The contact does not meet the conditions: %(summary)s.") % {
                    "summary": conditions.describe(self.masked_tree(tree))}
            elif index is None and tree is None and entry.get("status") == "skipped" and (
                    _about_conditions(str(entry.get("detail", "")))):
                # Logged before runs kept the conditions they checked.
                entry["detail"] = _("The contact does not meet the rule's conditions.")
            elif isinstance(index, int) and 0 <= index < len(run.actions or []) and (
                    self.action_hides(run.rule, run.actions[index])):
                entry["detail"] = _("This action concerns a field hidden from you.")
        return run


def _about_conditions(detail: str) -> bool:
    prefix = _("The contact does not meet the conditions: %(summary)s.").split("%(", 1)[0]
    return detail.startswith(prefix)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
