"""Logs carry ids, never names, email addresses, free text or invitation links.

The code logs ids; this module is the net under it for what arrives from elsewhere: an
exception whose message holds an address (smtplib.SMTPRecipientsRefused names the refused
recipient), a library that logs a URL. docs/privacy.md describes the whole arrangement.

- ``redact`` removes invitation and availability tokens and email addresses from text.
- ``configure`` (settings.LOGGING_CONFIG) sets up logging and installs a log-record factory
  that redacts each record as it is made, message and traceback alike, so every handler
  (the console, Celery's, a test's) sees the clean record.
- ``RedactSecretsFilter`` does the same on the configured handlers, for records made before
  the factory was installed.
- ``PrivateExceptionReporterFilter`` (settings.DEFAULT_EXCEPTION_REPORTER_FILTER) keeps every
  POST value and local variable out of error reports: a patient's survey comment, a name on
  an invitation form; ``PrivateExceptionReporter`` (DEFAULT_EXCEPTION_REPORTER) redacts the
  report's text as the log records are.
"""

import logging
import logging.config
import re
import traceback
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# Invitation links are bearer credentials until used; request logs must not carry them.
_SECRET_PATHS = re.compile(r"(/(?:invitations|availability)/)[^/\s?\"']+")
# Deliberately broad (anything@anything.tld): a false positive costs a word in a log line.
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
REDACTED_EMAIL = "[email]"


def redact(text: str) -> str:
    return _EMAIL.sub(REDACTED_EMAIL, _SECRET_PATHS.sub(r"\1[redacted]", text))


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
        return record
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # logging.Formatter uses exc_text when it is set, so the traceback printed is this
        # redacted one. Formatted as Formatter.formatException does.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        cleaned = redact(text)
        if cleaned != text:
            record.exc_text = cleaned
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _redacting_factory(base: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(base(*args, **kwargs))

    factory.redacts = True  # type: ignore[attr-defined]
    return factory


def install_record_redaction() -> None:
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts", False):
        logging.setLogRecordFactory(_redacting_factory(current))


def configure(config: dict) -> None:
    """settings.LOGGING_CONFIG: Django's dictConfig, then redaction of every record."""
    logging.config.dictConfig(config)
    install_record_redaction()


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports (AdminEmailHandler, anything built on ExceptionReporter) show the names
    of POST fields and of local variables, but none of their values.

    Django hides only what a view marks with @sensitive_post_parameters or
    @sensitive_variables; here nearly every form carries someone's words or details (a survey
    comment, an invitee's name and address, a progress update), so every value is hidden on
    every view. POST values are hidden in development too; local variables only outside it
    (is_active: DEBUG off), where they help a developer working on the demo's data.
    """

    def get_post_parameters(self, request: Any) -> Any:
        if request is None:
            return {}
        cleansed = request.POST.copy()
        for key in cleansed:
            cleansed[key] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [(name, self.cleansed_substitute) for name, _ in variables]


class PrivateExceptionReporter(ExceptionReporter):
    """settings.DEFAULT_EXCEPTION_REPORTER: the report with email addresses and invitation
    links redacted, since an exception's own message may quote them."""

    def get_traceback_text(self) -> str:
        return redact(super().get_traceback_text())

    def get_traceback_html(self) -> str:
        return redact(super().get_traceback_html())


class QuietSvgStylesFilter(logging.Filter):
    """Drop WeasyPrint's warnings about SVG presentation properties (fill, stroke, ...).

    WeasyPrint's HTML style checker reads the style attributes of inline SVG too and warns
    that it does not know SVG's properties; its SVG renderer then draws them correctly. One
    chart makes dozens of these, which would bury a real warning such as a missing file.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("Ignored `")
                    and "unknown property" in record.getMessage())
