"""The folder broker hands a worker whole messages only."""

import threading
import time
from queue import Empty

import pytest
from django.conf import settings as django_settings
from kombu import Connection
from kombu.transport import filesystem

from accord.core import broker

MESSAGES = 40
# A large body takes milliseconds to encode and write: the window in which a
# reader polling flat out would meet a message file still being written.
BODY = "é\n" * 1_000_000


def test_a_reader_polling_while_messages_are_written_decodes_every_one(tmp_path):
    (tmp_path / "processed").mkdir()
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path),
               "processed_folder": str(tmp_path / "processed"), "store_processed": False}
    writer = Connection("filesystem://", transport=broker.Transport, transport_options=options)
    reader = Connection("filesystem://", transport=broker.Transport, transport_options=options)
    received, errors = [], []

    def write():
        for number in range(MESSAGES):
            writer.default_channel._put("jobs", {"number": number, "body": BODY})

    thread = threading.Thread(target=write)
    thread.start()
    deadline = time.monotonic() + 60
    while len(received) < MESSAGES and not errors and time.monotonic() < deadline:
        try:
            message = reader.default_channel._get("jobs")
        except Empty:
            continue
        except ValueError as exc:  # the JSON decoder's error on a partial file
            errors.append(exc)
            continue
        received.append(message["number"])
        assert message["body"] == BODY
    thread.join()
    writer.release()
    reader.release()

    assert errors == []
    assert sorted(received) == list(range(MESSAGES))
    assert list(tmp_path.glob("*.msg")) == []


@pytest.mark.skipif(not django_settings.BROKER_URL.startswith("filesystem://"),
                    reason="a broker server is configured")
def test_settings_take_this_transport_for_the_folder_broker(settings):
    from accord.celery import app

    assert settings.CELERY_BROKER_TRANSPORT == "accord.core.broker:Transport"
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
        assert issubclass(connection.transport.Channel, filesystem.Channel)
