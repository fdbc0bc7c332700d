"""What the log says about refused requests."""

import logging

import pytest

from accord.identity.models import Role

pytestmark = pytest.mark.django_db


def test_a_refused_request_is_one_line_without_a_traceback(org, make_member, client_for,
                                                           caplog):
    seller = client_for(make_member(org, Role.SALES))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        answer = seller.get("/settings/loyalty/")

    refusals = [record for record in caplog.records if record.name == "django.request"]
    assert answer.status_code == 403
    assert [record.getMessage() for record in refusals] == [
        "Forbidden (Permission denied): /settings/loyalty/"]
    assert refusals[0].exc_info is None
