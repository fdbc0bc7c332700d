"""Merge fields in texts people write: `{{ contact.first_name|default:"there" }}`.

Texts are rendered by a Django template engine of their own that has no
template loaders and no tag libraries to load, and they see only the plain
dictionaries of strings they are given, never a model: a text can read the
values offered and nothing else. Only the tags that shape text are allowed
(if, elif, else, with, firstof, spaceless, comment); loops are refused because
nested ones multiply a short text into megabytes, and so are `include`,
`load`, `url`, `debug` and the rest, when the text is saved or rendered. The
`safe` and `safeseq` filters are refused too: in HTML they would let a value
add markup of its own.

A group of values written on its own (`{{ contact }}`, `{{ company }}`) shows
its name, as a person reading the text expects, never the values inside it.
"""

import re

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType

from accord.errors import InvalidInput

ALLOWED_TAGS = {
    "if", "elif", "else", "endif", "with", "endwith", "firstof", "spaceless", "endspaceless",
    "comment", "endcomment",
}
# Filters that mark a value as HTML, so it is no longer escaped.
UNSAFE_FILTERS = {"safe", "safeseq"}
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")
_FILTER = re.compile(r"\|\s*(\w+)")
MAX_OUTPUT = 200_000  # characters; far above any e-mail a person writes
_ENGINE = Engine(loaders=[], libraries={}, debug=False, string_if_invalid="")


def check(text: str, field: str = "body") -> None:
    """Raise InvalidInput naming `field` when `text` uses a tag or filter that is not
    allowed or is not a valid template."""
    for token in Lexer(text).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = (token.contents.split() or [""])[0]
            if name not in ALLOWED_TAGS:
                raise InvalidInput({field: f"The tag {{% {name} %}} cannot be used here; "
                                           "use merge fields, if and with."})
        if token.token_type in (TokenType.BLOCK, TokenType.VAR):
            # Quoted words are text, not filters: `default:"a|safe"` is fine.
            unquoted = _QUOTED.sub('""', token.contents)
            for name in _FILTER.findall(unquoted):
                if name in UNSAFE_FILTERS:
                    raise InvalidInput({field: f"The filter |{name} cannot be used here: "
                                               "merge fields are always shown as text."})
    try:
        _ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        raise InvalidInput({field: f"This text has a merge-field mistake: {exc}"}) from exc


def render(text: str, values: dict, *, html: bool = False, field: str = "body") -> str:
    """`text` with its merge fields filled from `values`; missing values become empty.

    Plain text is rendered without HTML escaping; `html=True` escapes every
    value. Raises InvalidInput when the text itself is not valid.
    """
    return fill(compile_text(text, field), values, html=html, field=field)


def compile_text(text: str, field: str = "body"):
    """`text` checked and compiled once, to be filled in for many people with `fill`."""
    check(text, field)
    return _ENGINE.from_string(text)


def fill(template, values: dict, *, html: bool = False, field: str = "body") -> str:
    """A compiled text with its merge fields filled from `values` (see `render`)."""
    rendered = template.render(Context(values, autoescape=html))
    if len(rendered) > MAX_OUTPUT:
        raise InvalidInput({field: "This text becomes too long once its merge fields are "
                                   "filled in."})
    return rendered


class Named(dict):
    """Merge values that print as `name` when a text names the group itself."""

    def __init__(self, values: dict, name: str = ""):
        super().__init__(values)
        self.name = name

    def __str__(self) -> str:
        return self.name


def person_values(contact, viewer=None) -> dict:
    """The merge fields of a contact (and its company) as plain strings.

    Given a `viewer` (a Membership), custom fields hidden from its role stay empty, and
    so does the company when the viewer may not see it: a text must not show its writer
    what the rest of Accord hides from them.
    """
    from accord.customers.custom_fields import visible_values
    from accord.identity.visibility import sees

    if contact is None:
        return {"contact": Named({}), "company": Named({})}
    company = getattr(contact, "company", None)
    if company is not None and viewer is not None and not sees(viewer, company):
        company = None
    full_name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return {
        "contact": Named({
            "first_name": contact.first_name, "last_name": contact.last_name,
            "full_name": full_name, "email": contact.email, "title": contact.title,
            "custom": {key: str(value) for key, value in
                       visible_values("contact", viewer, contact.custom_fields).items()},
            # Read only when a text uses it: the template engine calls it then.
            "suggested_products": lambda: _suggested_products(contact),
            "loyalty_tier": lambda: _loyalty_tier(contact),
            "preferences_url": lambda: _preferences_url(contact),
        }, full_name),
        "company": Named({"name": company.name, "domain": getattr(company, "domain", "")},
                         company.name) if company is not None else Named({}),
    }


def _suggested_products(contact) -> str:
    """Up to three products others bought with this contact's, as "A, B and C"."""
    from django.utils.text import get_text_list
    from django.utils.translation import gettext

    from accord.insights.scoring import suggestions_for

    names = [suggestion["name"] for suggestion in suggestions_for(contact, limit=3)]
    return str(get_text_list(names, gettext("and"))) if names else ""


def _preferences_url(contact) -> str:
    from accord.marketing.preferences import preference_link

    return preference_link(contact) if contact.pk else ""


def _loyalty_tier(contact) -> str:
    from accord.insights.models import LoyaltyStatus

    tier = LoyaltyStatus.objects.filter(contact=contact).values_list("tier", flat=True).first()
    return tier or ""
