"""The Celery broker of the embedded default (no Redis installed): kombu's filesystem transport,
with two fixes.

- Messages are written atomically. kombu writes a message file in place, and a reader that lists
  the folder between the writer's open() and write() moves the empty file away and fails to
  parse it; the worker then stops with "Unrecoverable error: JSONDecodeError" (kombu issue 1551).
  Here a message is written under a name no reader takes (it does not end in `.<queue>.msg`) and
  renamed into place, which the operating system does in one step.
- The transport makes its folders when it is first used, so settings create nothing on import.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (
            self.data_folder_in,
            self.data_folder_out,
            self.processed_folder,
            self.control_folder,
        ):
            if folder:
                os.makedirs(folder, exist_ok=True)

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
