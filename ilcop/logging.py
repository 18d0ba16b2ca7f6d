import logging
import re

# Invitation links are bearer credentials until used; request logs must not carry them.
_SECRET_PATHS = re.compile(r"(/(?:invitations|availability)/)[^/\s?\"']+")


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PATHS.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
