"""The condition tree: its strict validation, its SQL, its sentence, and the kind registry.

A tree is JSON. A group is `{"all": [...]}` or `{"any": [...]}` and holds
conditions and groups; a condition is either a field condition
(`{"field": "lifecycle_stage", "op": "in", "value": ["lead"]}`, see
`fields`) or a condition of a registered kind (`{"kind": "tag", "op": "has",
"value": "vip"}`, see `kinds`). Errors name their place in the tree, as in
`all[1].any[0].value`.

Apps add kinds of their own by subclassing `ConditionKind` and calling
`register(kind)` from their AppConfig.ready().
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accord.customers.models import Contact
from accord.errors import InvalidInput
from accord.timezones import zone_named

from .fields import encrypted_subject_label, field_subjects
from .types import (
    BadValue,
    Context,
    Operator,
    Shape,
    ValueType,
    clean_scalar,
    clean_value,
    display_value,
)

GROUPS = ("all", "any")
MAX_DEPTH = 4  # groups inside groups; deeper trees are hard to read back
MAX_CONDITIONS = 60  # a segment no one can read at a glance is a report


@dataclass(frozen=True)
class Param:
    """A setting of a kind besides its value, such as the type of activity."""

    name: str
    label: str
    value_type: ValueType
    choices: object = None


class ConditionKind:
    """A kind of condition beyond the contact's fields: has a tag, had a call...

    Subclasses set `name` (the tree's `kind`), `label`, `group` (where the
    builder lists it), `operators`, `params` and, for operators that take a
    value, `value_type` and `choices`; then `compile` returns the Q over
    Contact, scoped to `ctx.org`, that the condition stands for. The tree is
    validated before `compile` is called, so `node` holds clean values.
    """

    name: str = ""
    label: str = ""
    group: str = gettext_lazy("Activity")
    value_type: ValueType = ValueType.TEXT
    operators: tuple[Operator, ...] = ()
    params: tuple[Param, ...] = ()

    @property
    def builder_key(self) -> str:
        return f"kind:{self.name}"

    def choices(self) -> list[tuple[str, str]]:
        return []

    def compile(self, node: dict, ctx: Context) -> Q:
        raise NotImplementedError


_kinds: dict[str, ConditionKind] = {}


def register(kind: ConditionKind) -> ConditionKind:
    """Offer `kind` to every condition tree; a second kind of the same name replaces it."""
    if not kind.name or not kind.operators:
        raise ValueError("A condition kind needs a name and operators.")
    _kinds[kind.name] = kind
    return kind


def registered_kinds() -> list[ConditionKind]:
    return list(_kinds.values())


class _Errors:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, field: str, message) -> None:
        self.items.append({"field": field, "code": "invalid", "message": str(message)})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Conditions:
    """The condition language for one organisation: its fields and every registered kind.

    Build it inside the tenant scope; it reads the organisation's custom
    fields once.
    """

    def __init__(self, org, viewer=None):
        # Given a viewer (a Membership), custom fields hidden from its role are
        # not offered and a tree naming one is refused as naming an unknown field.
        self.org = org
        self.viewer = viewer
        self.fields = {subject.key: subject for subject in field_subjects(viewer)}

    # What the builder offers

    def subjects(self) -> list:
        """Every field and kind, in the order the builder lists them."""
        return [*self.fields.values(), *_kinds.values()]

    def subject_of(self, node: dict):
        if "kind" in node:
            return _kinds.get(str(node["kind"]))
        return self.fields.get(str(node.get("field")))

    # Validation

    def validate(self, tree) -> dict:
        """The tree in its stored form, or InvalidInput with one error per bad place.

        An empty root group, `{"all": []}` or `{"any": []}`, is allowed and matches
        every contact.
        """
        errors = _Errors()
        counter = [0]
        if not isinstance(tree, dict) or len(tree) != 1 or next(iter(tree)) not in GROUPS:
            errors.add("conditions", _('Give a group: {"all": [...]} or {"any": [...]}.'))
            raise InvalidInput(errors.items)
        clean = self._group(tree, "", 1, errors, counter)
        if counter[0] > MAX_CONDITIONS:
            errors.add("conditions", _("Use at most %(max)s conditions.")
                       % {"max": MAX_CONDITIONS})
        if errors.items:
            raise InvalidInput(errors.items)
        return clean

    def _group(self, node: dict, path: str, depth: int, errors: _Errors, counter) -> dict:
        (match, children), = node.items()
        here = _join(path, match)
        if not isinstance(children, list):
            errors.add(here, _("Give a list of conditions."))
            return {match: []}
        if not children and path:
            errors.add(here, _("Add at least one condition to this group."))
        clean = []
        for index, child in enumerate(children):
            child_path = f"{here}[{index}]"
            if isinstance(child, dict) and len(child) == 1 and next(iter(child)) in GROUPS:
                if depth >= MAX_DEPTH:
                    errors.add(child_path, _("Nest groups at most %(max)s deep.")
                               % {"max": MAX_DEPTH})
                    continue
                clean.append(self._group(child, child_path, depth + 1, errors, counter))
            else:
                counter[0] += 1
                clean.append(self._condition(child, child_path, errors))
        return {match: clean}

    def _condition(self, node, path: str, errors: _Errors) -> dict:
        if not isinstance(node, dict):
            errors.add(path, _("Give a condition or a group."))
            return {}
        if ("field" in node) == ("kind" in node):
            errors.add(path, _("Give either a field or a kind."))
            return {}
        subject = self.subject_of(node)
        head = "kind" if "kind" in node else "field"
        if subject is None:
            encrypted = (encrypted_subject_label(str(node["field"]), self.viewer)
                         if head == "field" else None)
            if encrypted:
                errors.add(_join(path, head), _(
                    "%(label)s is stored encrypted, so segments and rules cannot use it in "
                    "conditions.") % {"label": encrypted})
            else:
                errors.add(_join(path, head), _("There is no field with this name.")
                           if head == "field"
                           else _("There is no condition kind with this name."))
            return dict(node)
        clean = {head: subject.name if head == "kind" else subject.key}
        allowed = {head, "op", "value", *(param.name for param in subject.params)}
        for key in node:
            if key not in allowed:
                errors.add(_join(path, str(key)), _("This key is not accepted here."))
        for param in subject.params:
            try:
                clean[param.name] = clean_scalar(param.value_type, node.get(param.name),
                                                 param.choices)
            except BadValue as exc:
                errors.add(_join(path, param.name), exc)
        operators = {op.name: op for op in subject.operators}
        operator = operators.get(str(node.get("op")))
        if operator is None:
            errors.add(_join(path, "op"), _("Choose one of: %(ops)s.")
                       % {"ops": ", ".join(operators)})
            return clean
        clean["op"] = operator.name
        try:
            value = clean_value(operator, subject.value_type, node.get("value"),
                                subject.choices)
        except BadValue as exc:
            errors.add(_join(path, "value"), exc)
            return clean
        if operator.shape != Shape.NONE:
            clean["value"] = value
        return clean

    # SQL

    def context(self, seen_by=()) -> Context:
        zone = zone_named(getattr(self.org, "time_zone", ""))
        now = timezone.now()
        return Context(org=self.org, now=now, today=now.astimezone(zone).date(), zone=zone,
                       seen_by=tuple(seen_by))

    def compile(self, tree, *, seen_by=()) -> Q:
        """The Q over Contact that the validated tree stands for; InvalidInput when it is bad.

        Conditions about related records (deals, companies, activities) count
        only those every membership in `seen_by` sees; a None there narrows nothing.
        """
        return self._compile(self.validate(tree), self.context(seen_by))

    def _compile(self, node: dict, ctx: Context) -> Q:
        match = next(iter(node)) if len(node) == 1 else None
        if match in GROUPS:
            parts = [self._compile(child, ctx) for child in node[match]]
            combined = Q()
            for part in parts:
                combined = combined & part if match == "all" else combined | part
            # Only the root group can be empty (validation refuses empty inner
            # ones), and an empty root, "all" or "any", matches every contact.
            return combined
        return self.subject_of(node).compile(node, ctx)

    def contacts(self, tree, *, seen_by=()) -> QuerySet:
        """The organisation's live contacts that match `tree`, as one query (see `compile`
        for `seen_by`). The contacts themselves are not narrowed: `visible` does that."""
        return Contact.objects.filter(organization_id=self.org.pk).filter(
            self.compile(tree, seen_by=seen_by))

    # Words

    def describe(self, tree) -> str:
        """The tree in plain words, such as "Lifecycle stage is Lead and (has tag “vip” or …)".

        Places the organisation no longer knows (a removed custom field) read
        as "an unknown condition" rather than failing.
        """
        if not isinstance(tree, dict) or len(tree) != 1 or next(iter(tree)) not in GROUPS:
            return _("An unknown condition")
        text = self._words(tree, top=True) or _("Every contact")
        return text[:1].upper() + text[1:]

    def _words(self, node, *, top: bool = False) -> str:
        if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in GROUPS:
            (match, children), = node.items()
            parts = [self._words(child) for child in children if isinstance(children, list)]
            joiner = f" {_('and')} " if match == "all" else f" {_('or')} "
            text = joiner.join(parts)
            return text if top or len(parts) < 2 else f"({text})"
        return self._sentence(node)

    def _sentence(self, node) -> str:
        if isinstance(node, dict) and node.get("hidden") is True:
            # What automation.reading shows in place of a condition on a field
            # hidden from the reader's role.
            return _("a condition on a field hidden from you")
        subject = self.subject_of(node) if isinstance(node, dict) else None
        operator = next((op for op in getattr(subject, "operators", ())
                         if op.name == node.get("op")), None) if subject else None
        if operator is None:
            return _("an unknown condition")
        words = {"subject": subject.label}
        for param in subject.params:
            words[param.name] = display_value(_SINGLE, param.value_type,
                                              node.get(param.name), param.choices)
        try:
            words["value"] = display_value(operator, subject.value_type, node.get("value"),
                                           subject.choices)
        except (TypeError, IndexError, KeyError):
            return _("an unknown condition")
        return str(operator.sentence) % words


_SINGLE = Operator("param", "", Shape.ONE)
