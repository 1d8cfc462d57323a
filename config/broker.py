"""Kombu's filesystem transport (the embedded default's broker) with an atomic publish.

The stock transport creates the message file under its final name and then writes it, while a worker takes
any file with that name (it renames it away and reads it, without a lock): a worker polling at the wrong
moment reads an empty or half-written message, crashes on it, and the message is gone (the document then
waits for the queued-document sweep). `make load` hit it. Here a message is written under a name the worker
ignores and renamed into place when complete: a rename within one directory is atomic, so a worker sees
the whole message or nothing.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

FILESYSTEM_TRANSPORT = "config.broker:Transport"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Not "<...>.<queue>.msg": the worker's scan skips it until the rename.
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
