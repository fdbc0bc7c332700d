"""The segment builder's rows: read from a plain form post, turned into a condition tree,
and laid out for the template.

Every row of the builder is named by its place: the root group is `n`, its
children `n_0`, `n_1`, theirs `n_1_0`... Each row posts `<row>:type` (group
or condition); a group posts `<row>:match` (all or any); a condition posts
`<row>:subject` (`field:<key>` or `kind:<name>`), `<row>:op`, `<row>:value`
(repeated for lists), `<row>:value2` (the upper end of a range) and
`<row>:p:<name>` for a kind's parameters. Buttons post `action`:
`add:<row>`, `group:<row>`, `remove:<row>`, or `save`. So the builder works
as a plain form; htmx only re-renders it as the rows change.
"""

import re
from dataclasses import dataclass, field

from .conditions import Conditions, Shape, ValueType
from .conditions.engine import GROUPS

ROOT = "n"
# A kind's parameter may itself be called "type" (`n_0:p:type`), so a row is
# only what has a row's name.
ROW_ID = re.compile(r"n(?:_\d{1,3})*")
MAX_ROWS = 100  # a posted builder with more rows is cut here; validation refuses > 60 anyway


@dataclass
class Row:
    is_group: bool
    match: str = "all"
    children: list["Row"] = field(default_factory=list)
    subject: str = ""
    op: str = ""
    values: list[str] = field(default_factory=list)
    value2: str = ""
    params: dict[str, str] = field(default_factory=dict)
    rid: str = ""


def empty_root() -> Row:
    return Row(is_group=True, children=[Row(is_group=False)])


# Reading a post


def read(post) -> Row:
    """The rows of a posted builder, in their posted order."""
    ids = sorted((key[:-5] for key in post
                  if key.endswith(":type") and ROW_ID.fullmatch(key[:-5])),
                 key=_order)[:MAX_ROWS]
    if ROOT not in ids:
        return empty_root()
    rows: dict[str, Row] = {}
    for rid in ids:
        if rid != ROOT and rid.rpartition("_")[0] not in rows:
            continue
        if post.get(f"{rid}:type") == "group" or rid == ROOT:
            match = post.get(f"{rid}:match")
            row = Row(is_group=True, match=match if match in GROUPS else "all")
        else:
            prefix = f"{rid}:p:"
            row = Row(
                is_group=False, subject=post.get(f"{rid}:subject", ""),
                op=post.get(f"{rid}:op", ""),
                values=[value for value in post.getlist(f"{rid}:value") if value != ""],
                value2=post.get(f"{rid}:value2", ""),
                params={key[len(prefix):]: post.get(key) for key in post
                        if key.startswith(prefix)},
            )
        rows[rid] = row
        if rid != ROOT:
            parent = rows[rid.rpartition("_")[0]]
            if parent.is_group:
                parent.children.append(row)
    return rows[ROOT]


def _order(rid: str) -> list[int]:
    return [int(part) for part in rid.split("_")[1:]]


def apply(root: Row, action: str) -> None:
    """Carry out an add, group or remove button; anything else changes nothing."""
    verb, _sep, rid = action.partition(":")
    number(root)
    target, parent = _find(root, rid)
    if target is None:
        return
    if verb == "add" and target.is_group:
        target.children.append(Row(is_group=False))
    elif verb == "group" and target.is_group:
        target.children.append(Row(is_group=True, match="any",
                                   children=[Row(is_group=False)]))
    elif verb == "remove" and parent is not None:
        parent.children.remove(target)
        if not root.children:
            root.children.append(Row(is_group=False))


def _find(row: Row, rid: str, parent: Row | None = None):
    if row.rid == rid:
        return row, parent
    for child in row.children:
        found, owner = _find(child, rid, row)
        if found is not None:
            return found, owner
    return None, None


def number(row: Row, rid: str = ROOT) -> None:
    row.rid = rid
    for index, child in enumerate(row.children):
        number(child, f"{rid}_{index}")


# Rows and trees


def to_tree(root: Row, conditions: Conditions) -> tuple[dict, dict[str, str]]:
    """The condition tree the rows stand for, and which row each tree path came from.

    A condition row without a chosen field, and a group with nothing but
    such rows, are left out: they are rows the person has not filled in yet.
    """
    number(root)
    paths: dict[str, str] = {"": root.rid}

    def convert(row: Row, path: str) -> dict:
        here = f"{path}.{row.match}" if path else row.match
        children = []
        for child in row.children:
            if not _filled(child):
                continue
            child_path = f"{here}[{len(children)}]"
            paths[child_path] = child.rid
            children.append(convert(child, child_path) if child.is_group
                            else _condition(child, conditions))
        return {row.match: children}

    return convert(root, ""), paths


def _filled(row: Row) -> bool:
    if row.is_group:
        return any(_filled(child) for child in row.children)
    return bool(row.subject)


def _condition(row: Row, conditions: Conditions) -> dict:
    head, _sep, name = row.subject.partition(":")
    node = {"kind" if head == "kind" else "field": name}
    subject = conditions.subject_of(node)
    for param in getattr(subject, "params", ()):
        node[param.name] = row.params.get(param.name, "")
    # A field just changed keeps no operator of the old one: its first applies.
    operators = list(getattr(subject, "operators", ()))
    operator = _operator(subject, row.op) or (operators[0] if operators else None)
    node["op"] = operator.name if operator else row.op
    if operator is None:
        return node
    first = row.values[0] if row.values else ""
    if operator.shape in (Shape.ONE, Shape.DAYS):
        node["value"] = first
    elif operator.shape == Shape.TWO:
        node["value"] = [first, row.value2]
    elif operator.shape == Shape.LIST:
        node["value"] = list(row.values)
    return node


def _operator(subject, op: str):
    return next((operator for operator in getattr(subject, "operators", ())
                 if operator.name == op), None)


def from_tree(tree: dict, conditions: Conditions) -> Row:
    """The rows that show a stored tree."""
    def convert(node) -> Row:
        if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in GROUPS:
            (match, children), = node.items()
            return Row(is_group=True, match=match,
                       children=[convert(child) for child in children or []])
        node = node if isinstance(node, dict) else {}
        head = "kind" if "kind" in node else "field"
        value = node.get("value")
        values = value if isinstance(value, list) else ([] if value is None else [value])
        value2 = ""
        subject = conditions.subject_of(node)
        operator = _operator(subject, str(node.get("op", "")))
        if operator is not None and operator.shape == Shape.TWO and len(values) == 2:
            values, value2 = values[:1], _text(values[1])
        return Row(is_group=False, subject=f"{head}:{node.get(head, '')}",
                   op=str(node.get("op", "")), values=[_text(item) for item in values],
                   value2=value2,
                   params={param.name: _text(node.get(param.name, ""))
                           for param in getattr(subject, "params", ())})

    root = convert(tree) if isinstance(tree, dict) and tree else empty_root()
    if not root.is_group:
        root = Row(is_group=True, children=[root])
    if not root.children:
        root.children.append(Row(is_group=False))
    number(root)
    return root


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def row_errors(errors: list[dict], paths: dict[str, str]) -> tuple[dict, list[str]]:
    """Tree errors as {row: {part: message}}, and the errors that belong to no row."""
    by_row: dict[str, dict[str, str]] = {}
    general = []
    for error in errors:
        place, _sep, part = error["field"].rpartition(".")
        if not _sep and part in GROUPS:
            place, part = "", part
        rid = paths.get(place)
        if rid is None:
            general.append(error["message"])
            continue
        by_row.setdefault(rid, {}).setdefault(part, error["message"])
    return by_row, general


# Laying out for the template


INPUTS = {ValueType.TEXT: "text", ValueType.NUMBER: "number", ValueType.MONEY: "number",
          ValueType.DATE: "date", ValueType.CHOICE: "select", ValueType.MULTI_CHOICE: "select",
          ValueType.BOOLEAN: "boolean"}


def subject_options(conditions: Conditions) -> list[tuple[str, list[tuple[str, str]]]]:
    """The builder's field picker: (group label, [(value, label)]) in builder order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for subject in conditions.subjects():
        groups.setdefault(str(subject.group), []).append((subject.builder_key,
                                                          str(subject.label)))
    return list(groups.items())


def _choices(source) -> list[tuple[str, str]]:
    items = source() if callable(source) else source or []
    return [(str(value), str(label)) for value, label in items]


def layout(root: Row, conditions: Conditions, errors: dict[str, dict[str, str]]) -> dict:
    """The row tree as plain dicts the templates render without further lookups."""
    number(root)

    def lay(row: Row, depth: int) -> dict:
        if row.is_group:
            return {"rid": row.rid, "is_group": True, "match": row.match, "depth": depth,
                    "is_root": row.rid == ROOT, "errors": list(errors.get(row.rid, {}).values()),
                    "can_nest": depth < 3,
                    "children": [lay(child, depth + 1) for child in row.children]}
        return _lay_condition(row, conditions, errors.get(row.rid, {}))

    return lay(root, 0)


def _lay_condition(row: Row, conditions: Conditions, errors: dict[str, str]) -> dict:
    head, _sep, name = row.subject.partition(":")
    subject = conditions.subject_of({"kind" if head == "kind" else "field": name}) \
        if row.subject else None
    operators = list(getattr(subject, "operators", ()))
    operator = _operator(subject, row.op) or (operators[0] if operators else None)
    value_type = getattr(subject, "value_type", ValueType.TEXT)
    shape = operator.shape if operator else Shape.NONE
    known = {"field", "kind", "op", "value", *(p.name for p in getattr(subject, "params", ()))}
    return {
        "rid": row.rid, "is_group": False, "subject": row.subject,
        "operators": [(op.name, str(op.label)) for op in operators],
        "op": operator.name if operator else "",
        "shape": str(shape),
        "input": "days" if shape == Shape.DAYS else INPUTS[value_type],
        "choices": _choices(subject.choices) if subject and value_type in (
            ValueType.CHOICE, ValueType.MULTI_CHOICE) else [],
        "values": row.values, "value": row.values[0] if row.values else "",
        "value2": row.value2,
        "params": [{
            "name": param.name, "label": str(param.label), "value": row.params.get(param.name, ""),
            "input": INPUTS[param.value_type], "choices": _choices(param.choices),
            "error": errors.get(param.name, ""),
        } for param in getattr(subject, "params", ())],
        "subject_error": errors.get("field") or errors.get("kind") or "",
        "op_error": errors.get("op", ""),
        "value_error": errors.get("value", ""),
        "other_errors": [message for part, message in errors.items() if part not in known],
        "unknown_subject": bool(row.subject) and subject is None,
    }
