"""An email backend for the crash-recovery test: a mail server that hangs mid-send.

It writes a marker file when sending begins, so the test knows the worker is inside the task,
then waits long enough to be killed. It never sends.
"""

import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class StallingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        Path(os.environ["STALL_MARKER"]).write_text("sending began")
        time.sleep(float(os.environ.get("STALL_SECONDS", "300")))
        raise OSError("the test should have killed this worker by now")
