"""The embedded broker (``filesystem://``) with messages written whole.

kombu's filesystem transport creates a message's file, then writes it. A worker
listing the folder in between takes the empty file, fails to decode it and stops
("Unrecoverable error: JSONDecodeError"): under load the embedded worker died
within seconds of a soak (bench/bench_soak.py). Here a message is written under a
name no reader looks for and renamed into place, which is atomic on POSIX: a
reader sees a whole message or none. ``config.celery`` makes this the transport
of ``filesystem://`` URLs in every process (web, worker, Beat).
"""

from __future__ import annotations

import os
import time
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Readers take only names ending "<queue>.msg"; a message being written has this
# suffix after it until it is complete.
PARTIAL = ".part"


class Channel(filesystem.Channel):
    """A filesystem channel whose messages appear in the folder complete."""

    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: write it aside, then rename it in."""
        # The name's leading milliseconds keep kombu's reading order (sorted names).
        name = f"{int(round(time.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL
        try:
            with open(partial, "wb", buffering=0) as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel
    # The filesystem backend's state (bindings) is global, as kombu's own.
    global_state = filesystem.Transport.global_state
