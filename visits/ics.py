"""Calendar invitations for a visit or an event: iCalendar (RFC 5545) objects sent as iTIP
(RFC 5546).

Pure: no Django, no ORM. The caller passes plain values and gets the bytes of a .ics file to
attach to an email (tests/test_ics.py parses them back).

How updates work (RFC 5546 section 2.1.4): every invitation for one visit carries the same UID;
a changed time or a cancellation is sent again with a higher SEQUENCE, and the calendar client
replaces what it holds. Keeping the UID and incrementing SEQUENCE is the caller's job.

Why a hand-written VTIMEZONE. RFC 5545 section 3.2.19 requires a VTIMEZONE for every TZID used.
icalendar 7 can generate one (Calendar.add_missing_timezones), but it writes each transition as
an RDATE over a fixed span of years (plus a COMMENT saying so). Outlook keeps a single yearly
rule per time zone and takes it from an RRULE (Microsoft [MS-OXCICAL] 2.1.3.1.1.19.2.2: "MUST be
of frequency YEARLY", BYDAY "a single occurrence of a single day of the week"), and RDATE-only
VTIMEZONEs are reported to shift events by an hour in Outlook (iCalcreator issues #86 and #106
on GitHub). Most NHS staff read their mail in Outlook, so we write the UK rule as Outlook and
Google Calendar do. The rule, from the Summer Time Order 2002 (SI 2002/262, under the Summer
Time Act 1972): summer time runs from 01:00 GMT on the last Sunday in March to 01:00 GMT on the
last Sunday in October; the UK has followed it since 1996. tests/test_ics.py checks it against
the tz database for every day from 1997 to 2037.
"""

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
)

LONDON = ZoneInfo("Europe/London")
TZID = "Europe/London"
PRODID = "-//Peer Review Programmes//EN"
REQUEST, CANCEL = "REQUEST", "CANCEL"
METHODS = (REQUEST, CANCEL)
REMINDER = timedelta(days=1)


def ics_content_type(method: str = REQUEST) -> str:
    """The MIME type for the attachment. iMIP (RFC 6047 section 2.4) requires the method
    parameter, equal to the object's METHOD; mail clients use it to show an invitation (or a
    cancellation) with Accept/Decline rather than a plain attachment. No charset: Django's
    EmailMessage.attach adds charset="utf-8" to every text/* part itself, and a second one
    would make the header ambiguous."""
    return f"text/calendar; method={_method(method)}"


ICS_CONTENT_TYPE = "text/calendar; method=REQUEST"  # == ics_content_type()


def ics_filename(summary: str) -> str:
    """A safe attachment name from the summary, e.g. "Peer review visit: St Mary's" ->
    "peer-review-visit-st-marys.ics". ASCII only, because some mail clients mangle
    non-ASCII attachment names (RFC 2231 encoding is not read everywhere)."""
    without_apostrophes = re.sub(r"['\u2019]", "", summary)
    ascii_text = (
        unicodedata.normalize("NFKD", without_apostrophes).encode("ascii", "ignore").decode()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].rstrip("-")
    return f"{slug or 'invitation'}.ics"


def visit_invitation(**kwargs) -> bytes:
    """A visit's invitation: attendees are asked to reply from their calendar."""
    return calendar_invitation(**kwargs)


def calendar_invitation(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str,
    organizer: tuple[str, str],
    attendees: Sequence[tuple[str, str]],
    method: str = REQUEST,
    url: str | None = None,
    stamp: datetime | None = None,
    rsvp: bool = True,
) -> bytes:
    """The .ics bytes inviting attendees to a visit or an event (method REQUEST) or
    cancelling it (CANCEL).

    rsvp False asks for no reply from the calendar (RSVP=FALSE): an event's replies are made
    on its page, because a calendar's reply goes to the organiser's address, a mailbox nobody
    reads.

    organizer and attendees are (name, email). start and end must be timezone-aware; they are
    written as Europe/London wall time (an aware datetime in another zone is converted). stamp
    is DTSTAMP, the moment the message was made, in UTC (defaults to now; pass it in tests).
    """
    method = _method(method)
    if not uid.strip():
        raise ValueError("uid must not be empty")
    if sequence < 0:
        raise ValueError(f"sequence must be 0 or more, not {sequence}")
    start, end = _london(start, "start"), _london(end, "end")
    if end <= start:
        raise ValueError("end must be after start")
    if not attendees:
        raise ValueError("an invitation needs at least one attendee")  # RFC 5546 3.2.2, 3.2.5
    stamp = datetime.now(UTC) if stamp is None else _aware(stamp, "stamp").astimezone(UTC)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(london_vtimezone())  # before the event that refers to it

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.replace(microsecond=0))
    event.add("dtstart", start.replace(microsecond=0))
    event.add("dtend", end.replace(microsecond=0))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    # STATUS:CANCELLED on the event as well as METHOD:CANCEL: RFC 5546 3.2.5 says to set it,
    # and a client that imports the file rather than processing iTIP still sees the cancellation.
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(*organizer))
    seen: set[str] = set()
    for name, email in attendees:
        if email.strip().lower() in seen:
            continue  # the same person twice would get two replies to track
        seen.add(email.strip().lower())
        address = _address(name, email)
        address.params["ROLE"] = "REQ-PARTICIPANT"
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        # A cancellation asks for no reply; RSVP defaults to FALSE (RFC 5545 3.2.17).
        if method == REQUEST:
            address.params["RSVP"] = "TRUE" if rsvp else "FALSE"
        event.add("attendee", address)
    if method == REQUEST:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)  # DISPLAY alarms must have one (RFC 5545 3.6.6)
        alarm.add("trigger", -REMINDER)
        event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()  # CRLF line ends, folded at 75 octets by the library


def london_vtimezone() -> Timezone:
    """VTIMEZONE for Europe/London as a yearly rule (see the module docstring for why).

    Each onset's DTSTART is wall time before the change (RFC 5545 3.6.5): 01:00 GMT becomes
    02:00 BST in March; 02:00 BST becomes 01:00 GMT in October. 1996 is the first year of the
    current rule (both Sundays were the last of their month that year).
    """
    timezone = Timezone()
    timezone.add("tzid", TZID)
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1996, 10, 27, 2, 0))  # noqa: DTZ001 - floating by RFC
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    standard.add("tzoffsetfrom", timedelta(hours=1))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("tzname", "GMT")
    daylight = TimezoneDaylight()
    daylight.add("dtstart", datetime(1996, 3, 31, 1, 0))  # noqa: DTZ001 - floating by RFC
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    daylight.add("tzoffsetfrom", timedelta(0))
    daylight.add("tzoffsetto", timedelta(hours=1))
    daylight.add("tzname", "BST")
    timezone.add_component(standard)
    timezone.add_component(daylight)
    return timezone


def _method(method: str) -> str:
    if method.upper() not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    return method.upper()


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (Europe/London), not naive: {value}")
    return value


def _london(value: datetime, name: str) -> datetime:
    return _aware(value, name).astimezone(LONDON)


def _address(name: str, email: str) -> vCalAddress:
    """mailto: address with CN. A double quote cannot appear in a parameter value (RFC 5545
    3.1); icalendar would write RFC 6868's ^' for it, which Outlook shows literally, so we use an
    apostrophe. Line breaks would end the property, so they go too."""
    email = email.strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise ValueError(f"not an email address: {email!r}")
    address = vCalAddress(f"mailto:{email}")
    cn = " ".join(name.replace('"', "'").split())
    if cn:
        address.params["CN"] = cn
    return address
