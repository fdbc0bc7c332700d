"""The one place that decides how text is matched.

Names, e-mails and phones are folded into `search_text` when a record is
saved: lower case, accents removed, NFC-normalised, letters such as "ł" and
"ø" mapped to their base letter. A query is folded the same way and each of
its words must occur in that text, so "jose" finds "José" and "lodz" finds
"Łódź" on SQLite and PostgreSQL alike.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable

from django.db.models import Model, Q, QuerySet

# Letters that do not decompose into a base letter plus a combining mark.
_FOLD = str.maketrans({
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ß": "ss", "æ": "ae",
    "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ı": "i", "ħ": "h",
})
_WORD = re.compile(r"[\w@.+'-]+", re.UNICODE)
MAX_TERMS = 8


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", text).casefold()


def build_search_text(*parts: str) -> str:
    return " ".join(fold(part) for part in parts if part)


def terms(query: str) -> list[str]:
    return _WORD.findall(fold(query))[:MAX_TERMS]


def search(queryset: QuerySet, query: str) -> QuerySet:
    """Narrow `queryset` (a model with `search_text`) to records matching every word."""
    words = terms(query)
    if not words:
        return queryset
    condition = Q()
    for word in words:
        condition &= Q(search_text__contains=word)
    return queryset.filter(condition)


# How each searchable model turns a record into its searchable text; filled
# in by the apps that own the models.
_TEXTS: dict[type[Model], Callable[[Model], str]] = {}


def register(model: type[Model], text_of: Callable[[Model], str]) -> None:
    _TEXTS[model] = text_of


def reindex(model: type[Model], ids: Iterable[int]) -> None:
    """Bring the search index up to date for these records, after any write to them."""
    text_of = _TEXTS[model]
    for record in model._base_manager.filter(pk__in=list(ids)):
        model._base_manager.filter(pk=record.pk).update(search_text=text_of(record))
