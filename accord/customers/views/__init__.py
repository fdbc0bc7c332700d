"""The contacts and companies UI; each module holds one part of it."""

from .duplicates import (
    company_duplicates,
    company_merge,
    company_page,
    contact_duplicates,
    contact_merge,
    contact_page,
    duplicate_dismiss,
    duplicate_list,
)
from .lists import (
    company_bulk,
    company_export,
    company_list,
    company_view_create,
    contact_bulk,
    contact_export,
    contact_list,
    contact_view_create,
    saved_view_delete,
)
from .pickers import company_picker
from .records import (
    company_create,
    company_delete,
    company_detail,
    company_edit,
    contact_affiliation_add,
    contact_affiliation_remove,
    contact_consent,
    contact_create,
    contact_delete,
    contact_detail,
    contact_edit,
)
from .trash import company_restore, contact_restore, trash

__all__ = [
    "company_bulk", "company_create", "company_delete", "company_detail",
    "company_duplicates", "company_edit", "company_export", "company_list", "company_merge",
    "company_page", "company_picker", "company_restore", "company_view_create",
    "contact_affiliation_add", "contact_affiliation_remove", "contact_bulk", "contact_consent",
    "contact_create", "contact_delete", "contact_detail", "contact_duplicates", "contact_edit",
    "contact_export", "contact_list", "contact_merge", "contact_page", "contact_restore",
    "contact_view_create", "duplicate_dismiss", "duplicate_list", "saved_view_delete",
    "trash",
]
