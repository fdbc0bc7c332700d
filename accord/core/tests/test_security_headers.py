"""Headers every page is served with: a script policy without inline script, no sniffing,
no framing, a same-origin referrer."""

import re
from pathlib import Path

from django.test import Client

TEMPLATES = Path(__file__).resolve().parents[2]


def test_pages_carry_the_policy_and_the_other_headers(member, client_for):
    for client, path in [(Client(), "/login"), (client_for(member), "/contacts/")]:
        page = client.get(path)
        policy = page["Content-Security-Policy"]

        assert page.status_code == 200
        assert "script-src 'self';" in policy
        assert "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page["X-Content-Type-Options"] == "nosniff"
        assert page["Referrer-Policy"] == "same-origin"
        assert page["X-Frame-Options"] == "DENY"


def test_json_answers_and_the_api_docs_page_are_left_alone(member, api_client_for):
    answer = api_client_for(member).get("/api/v1/contacts")

    assert "Content-Security-Policy" not in answer
    assert "Content-Security-Policy" not in Client().get("/api/v1/docs")


def test_no_template_holds_inline_script_or_event_handlers():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    offenders = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
                 if inline_script.search(text := path.read_text(encoding="utf-8"))
                 or handler.search(text)]

    assert offenders == []
