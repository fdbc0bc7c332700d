"""An agent answers, in a real browser, mail that arrived over SMTP; a real worker sends it."""

import smtplib
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django_scopes import scope
from playwright.sync_api import expect

from accord.celery import app
from accord.service import inbound, queues
from accord.service.mail.listener import MailListener
from accord.service.models import TicketMessage
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.worker]

CUSTOMER_MAIL = (
    b"From: Ria Customer <ria@customer.example>\r\n"
    b"To: support@northwind.example\r\n"
    b"Subject: Blender broken\r\n"
    b"Message-ID: <first@customer.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"The blender stopped after two days.\r\n"
)


def sign_in(page, membership):
    page.goto("/login")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_an_agent_answers_mail_that_arrived_over_smtp(page, org, admin, smtp_inbox):
    with scope(organization=org):
        queues.create_queue(org, admin.user, data={
            "name": "Support", "email_address": "support@northwind.example"})
    listener = MailListener("127.0.0.1", 0, inbound.accepts_recipient, inbound.deliver)
    listener.start()
    try:
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as smtp:
            smtp.sendmail("ria@customer.example", ["support@northwind.example"], CUSTOMER_MAIL)
    finally:
        listener.stop()

    sign_in(page, admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
    page.get_by_role("link", name="Blender broken").click()
    expect(page.get_by_text("The blender stopped after two days.")).to_be_visible()
    expect(page.get_by_text("Replies go to ria@customer.example.")).to_be_visible()
    page.get_by_label("Message").fill("A new blender is on its way.")
    page.get_by_label("Then set the status to").select_option("pending")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    expect(page.locator("#ticket-sla").locator("xpath=..")).to_contain_text("Pending")

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        deadline = time.monotonic() + 60
        while not smtp_inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)

    recipients, message = smtp_inbox.only()[0], smtp_inbox.messages[0][1]
    assert recipients == ["ria@customer.example"]
    assert message["From"] == "support@northwind.example"
    assert message["In-Reply-To"] == "<first@customer.example>"
    assert message["Subject"].startswith("Re: Blender broken [#")
    assert message.get_content().strip() == "A new blender is on its way."
    with scope(organization=org):
        assert TicketMessage.objects.get(kind="reply").sent_at is not None
