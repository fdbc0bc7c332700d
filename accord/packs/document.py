"""Pack documents: finding, reading and checking the JSON that describes a pack.

A pack is one file `definitions/<name>.json` holding `name`, `version`,
`title`, `description` and one section per block (see `blocks`). `load`
reads and checks a document whole before anything is applied; an error names
its place, as in `pipelines[1].stages[2].probability`.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from accord.errors import InvalidInput, NotFound

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
NAME = re.compile(r"^[a-z][a-z0-9-]{1,59}$")
VERSION = re.compile(r"^\d{1,4}(\.\d{1,4}){0,2}$")
HEADER = ("name", "version", "title", "description")
MAX_ITEMS = 200  # per section; a pack is a starting point, not a data import


class InvalidPack(InvalidInput):
    code = "invalid-pack"
    title = "Invalid pack"


class Problems:
    """Collects `path: message` errors while a document is checked."""

    def __init__(self):
        self.errors: list[dict] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "code": "invalid", "message": message})

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidPack(self.errors, detail="The pack document is not valid.")

    def text(self, item: dict, name: str, path: str, *, limit: int, required: bool = True
             ) -> str:
        value = item.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(join(path, name), "must be a non-empty text")
            return ""
        if len(value) > limit:
            self.add(join(path, name), f"must be at most {limit} characters")
        return value.strip()

    def whole(self, item: dict, name: str, path: str, *, low: int, high: int,
              required: bool = True) -> int | None:
        value = item.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.add(join(path, name), f"must be between {low} and {high}")
            return None
        return value

    def mapping(self, value, path: str) -> bool:
        if not isinstance(value, dict):
            self.add(path, "must be a mapping of names to values")
            return False
        return True

    def only(self, item: dict, path: str, allowed: set[str]) -> None:
        for name in item:
            if name not in allowed:
                self.add(join(path, name), "is not a known setting here")


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@dataclass
class Pack:
    name: str
    version: str
    title: str
    description: str
    sections: dict[str, list] = field(default_factory=dict)

    @property
    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    """A version as numbers, so that "1.10" comes after "1.9"."""
    return tuple(int(part) for part in version.split("."))


def available() -> list[str]:
    """The names of the packs shipped with Accord, in alphabetical order."""
    return sorted(path.stem for path in DEFINITIONS.glob("*.json"))


def load(name: str) -> Pack:
    """The shipped pack `name`, checked; NotFound for an unknown name, InvalidPack when
    the document is wrong."""
    if not NAME.match(name or "") or name not in available():
        raise NotFound("No pack with this name.")
    return parse((DEFINITIONS / f"{name}.json").read_text(encoding="utf-8"), expected=name)


def parse(text: str, *, expected: str | None = None) -> Pack:
    """A pack from its JSON text, every section checked by its block."""
    from . import blocks

    problems = Problems()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(f"line {exc.lineno}", f"is not valid JSON: {exc.msg}")
        problems.raise_if_any()
    if not isinstance(raw, dict):
        problems.add("document", "must be a mapping with name, version, title and description")
        problems.raise_if_any()

    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.add("name", "must be lower-case letters, digits and hyphens")
    elif expected is not None and name != expected:
        problems.add("name", f"must match the file name ({expected})")
    version = str(raw.get("version", ""))
    if not VERSION.match(version):
        problems.add("version", "must be numbers separated by dots, such as 1.2")
    title = problems.text(raw, "title", "", limit=120)
    description = problems.text(raw, "description", "", limit=2000)
    sections = {}
    for section, items in raw.items():
        if section in HEADER:
            continue
        block = blocks.REGISTRY.get(section)
        if block is None:
            problems.add(section, "is not a known section; known are: "
                         + ", ".join(blocks.REGISTRY))
            continue
        if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
            problems.add(section, f"must be a list of 1 to {MAX_ITEMS} entries")
            continue
        keys = set()
        for index, item in enumerate(items):
            path = f"{section}[{index}]"
            if not problems.mapping(item, path):
                continue
            block.check(item, path, problems)
            key = block.key(item)
            if key in keys:
                problems.add(path, f"repeats the entry {key!r}")
            keys.add(key)
        block.check_section(items, problems)
        sections[section] = items
    problems.raise_if_any()
    return Pack(name=name, version=version, title=title, description=description,
                sections=sections)
