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


class QuietSvgStylesFilter(logging.Filter):
    """Drop WeasyPrint's warnings about SVG presentation properties (fill, stroke, ...).

    WeasyPrint's HTML style checker reads the style attributes of inline SVG too and warns
    that it does not know SVG's properties; its SVG renderer then draws them correctly. One
    chart makes dozens of these, which would bury a real warning such as a missing file.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("Ignored `")
                    and "unknown property" in record.getMessage())
