"""docs/api.md runs: its Python examples, in order, against a live server."""

import hashlib
import hmac
import re
import time
from pathlib import Path

from django_scopes import scope

from accord.commerce.models import BehaviourEvent, Order
from accord.customers.models import Contact
from accord.identity.services import create_token

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_the_python_examples_run_as_written(live_server, org, admin, monkeypatch):
    with scope(organization=org):
        _, raw = create_token(org, admin.user, name="docs", scopes=[
            "contacts:write", "orders:write", "events:write"])
    monkeypatch.setenv("ACCORD_URL", live_server.url)
    monkeypatch.setenv("ACCORD_TOKEN", raw)
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    namespace = {"print": lambda *args, **kwargs: None}

    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    for block in blocks[-2:-1]:  # the shop sync again: a rerun changes nothing
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs

    assert len(blocks) == 8
    with scope(organization=org):
        order = Order.objects.get(number="SO-1001")
        assert order.contact.email == "mira@example.com"
        assert order.lines.count() == 2
        assert str(order.total) == "23.9000"
        assert Contact.objects.filter(email="mira@example.com").count() == 1
        assert BehaviourEvent.objects.filter(external_id="shop-cart-77").count() == 1
        assert Contact.objects.get(pk=namespace["ada"]["id"]).title == "Countess of Lovelace"

    verify = namespace["verify"]
    body = b'{"id": "d1"}'
    sent_at = int(time.time())
    signature = hmac.new(b"s3cret", f"{sent_at}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify("s3cret", f"t={sent_at},v1={signature}", body)
    assert not verify("other", f"t={sent_at},v1={signature}", body)
    assert not verify("s3cret", f"t={sent_at - 3600},v1={signature}", body)
