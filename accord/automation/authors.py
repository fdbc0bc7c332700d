"""Whose view of the organisation a workflow rule keeps to."""

from accord.identity.models import Membership, Role

from .models import Rule


def author_of(rule: Rule) -> Membership | None:
    """The member whose visibility a rule's runs keep to: whoever saved it last (or made
    it) while they are an active member who is no admin; None for rules that act on
    every record (saved by an admin or by code, or by a member who has since left).

    Whoever saves a rule answers for what it reads, so a member changing an admin's rule
    cannot make it show them records hidden from them.
    """
    user_id = rule.edited_by_id or rule.created_by_id
    if user_id is None:
        return None
    return (Membership.unscoped.filter(organization_id=rule.organization_id,
                                       user_id=user_id, is_active=True)
            .exclude(role=Role.ADMIN).first())
