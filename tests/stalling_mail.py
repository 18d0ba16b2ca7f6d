"""An email backend for the crash-recovery test: a mail server that hangs mid-send.

Messages before the STALL_AT-th are written to files as Django's file backend does. At the
STALL_AT-th it writes a marker file, so the test knows the worker is inside the task, then
waits long enough to be killed; that message is never sent.
"""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class StallingBackend(EmailBackend):
    def send_messages(self, email_messages):
        marker = Path(os.environ["STALL_MARKER"])
        counter = marker.with_suffix(".count")
        count = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(count))
        if count < int(os.environ.get("STALL_AT", "1")):
            return super().send_messages(email_messages)
        marker.write_text("sending began")
        time.sleep(float(os.environ.get("STALL_SECONDS", "300")))
        raise OSError("the test should have killed this worker by now")
