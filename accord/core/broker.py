"""The folder broker used when no BROKER_URL is set.

Kombu's folder transport creates a message's file under its final name and
writes it afterwards, so a worker listing the folder in between takes the
empty file, fails to decode it and stops. Here a message is written under a
name no queue matches and renamed once complete; a rename within one folder
is atomic, so a reader sees the whole message or none of it.
"""

import os
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(filesystem.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Readers and purges take a file whose name after its first dot is
        # "<queue>.msg"; the leading dot puts the whole name there, "….part"
        # included, so no one takes the half-written file.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            if os.path.exists(partial):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
