"""Reading a queue's mailbox over IMAP, against a server on loopback."""

import pytest
from django_scopes import scope

from accord import crypto
from accord.service import imap, queues
from accord.service.models import Queue, Ticket

from .imap_server import LoopbackImap, Mailbox


def mail(message_id: str, subject: str) -> bytes:
    return (f"From: Ria <ria@customer.example>\r\nTo: help@northwind.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nBody of {subject}.\r\n").encode()


@pytest.fixture
def mailbox():
    box = Mailbox("help@northwind.example", PASSWORD)
    box.add(1, mail("a@x", "First"))
    box.add(2, mail("b@x", "Second"))
    return box


@pytest.fixture
def server(mailbox, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with LoopbackImap(mailbox) as running:
        yield running


PASSWORD = "s3cret pass"  # noqa: S105 - the loopback test mailbox's


def make_queue(org, admin, port, password=PASSWORD):
    with scope(organization=org):
        return queues.create_queue(org, admin.user, data={
            "name": "Help", "imap_host": "127.0.0.1", "imap_port": port,
            "imap_security": "none", "imap_username": "help@northwind.example",
            "imap_password": password})


def poll(org, queue):
    with scope(organization=org):
        return imap.poll_queue(Queue.objects.get(pk=queue.pk))


def test_new_mail_becomes_tickets_once_and_is_marked_read(org, admin, mailbox, server):
    queue = make_queue(org, admin, server.port)

    first = poll(org, queue)
    mailbox.add(3, mail("c@x", "Third"))
    second = poll(org, queue)
    third = poll(org, queue)

    assert (first, second, third) == (2, 1, 0)
    assert mailbox.seen == {1, 2, 3}
    with scope(organization=org):
        assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
            "First", "Second", "Third"]
        queue.refresh_from_db()
        assert (queue.imap_last_uid, queue.imap_uidvalidity, queue.imap_error) == (3, 42, "")
        assert Ticket.objects.filter(queue=queue).count() == 3


def test_a_rebuilt_mailbox_is_read_again_without_duplicates(org, admin, mailbox, server):
    queue = make_queue(org, admin, server.port)
    poll(org, queue)
    mailbox.uidvalidity = 99
    mailbox.add(3, mail("c@x", "Third"))

    taken = poll(org, queue)

    assert taken == 3  # all read again; the two known ones are dropped by Message-ID
    with scope(organization=org):
        assert Ticket.objects.count() == 3


def test_a_wrong_password_is_noted_on_the_queue_not_raised(org, admin, server):
    queue = make_queue(org, admin, server.port, password="wrong")

    taken = poll(org, queue)

    with scope(organization=org):
        queue.refresh_from_db()
    assert taken == 0
    assert "could not be read" in queue.imap_error
    assert queue.imap_checked_at is not None


def test_a_private_address_is_refused_unless_allowed(org, admin, mailbox, settings):
    with LoopbackImap(mailbox) as running:
        settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
        queue = make_queue(org, admin, running.port)
        settings.WEBHOOK_ALLOWED_HOSTS = []

        taken = poll(org, queue)

    with scope(organization=org):
        queue.refresh_from_db()
    assert taken == 0
    assert "private, loopback or link-local" in queue.imap_error
    assert mailbox.logins == 0


def test_the_password_is_stored_encrypted_and_kept_when_left_empty(org, admin, client_for):
    client = client_for(admin)
    client.post("/settings/queues/", {
        "name": "Help", "imap_host": "imap.example.com", "imap_port": 993,
        "imap_security": "ssl", "imap_username": "help", "imap_password": "s3cret",
        "imap_folder": "INBOX", "is_active": "on"})
    with scope(organization=org):
        queue = Queue.objects.get()
    stored = queue.imap_password

    page = client.get(f"/settings/queues/{queue.pk}/")
    client.post(f"/settings/queues/{queue.pk}/", {
        "version": queue.version, "name": "Help desk", "imap_host": "imap.example.com",
        "imap_port": 993, "imap_security": "ssl", "imap_username": "help",
        "imap_password": "", "imap_folder": "INBOX", "is_active": "on"})
    missing = client.post("/settings/queues/", {
        "name": "Other", "imap_host": "imap.example.com", "imap_port": 993,
        "imap_security": "ssl", "imap_folder": "INBOX", "is_active": "on"})

    assert "s3cret" not in stored
    assert crypto.decrypt(stored) == "s3cret"
    assert "s3cret" not in page.content.decode()
    with scope(organization=org):
        queue.refresh_from_db()
    assert (queue.name, queue.imap_password) == ("Help desk", stored)
    assert missing.status_code == 422
    assert "Give the mailbox password." in missing.content.decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.5", "0x7f000001"])
def test_a_private_address_is_refused_when_saved(org, admin, client_for, host):
    response = client_for(admin).post("/settings/queues/", {
        "name": "Help", "imap_host": host, "imap_port": 993, "imap_security": "ssl",
        "imap_username": "help", "imap_password": "x", "imap_folder": "INBOX",
        "is_active": "on"})

    assert response.status_code == 422
    assert "private, loopback or link-local" in response.content.decode()


def test_clearing_the_server_forgets_the_password(org, admin):
    with scope(organization=org):
        queue = queues.create_queue(org, admin.user, data={
            "name": "Help", "imap_host": "imap.example.com", "imap_username": "help",
            "imap_password": "hunter2"})
        queue = queues.update_queue(org, admin.user, queue, data={"imap_host": ""})

    assert (queue.imap_username, queue.imap_password) == ("", "")
