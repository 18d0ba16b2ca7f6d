"""Visit invitations (visits.ics), parsed back and checked against RFC 5545 / RFC 5546.

Three readers check the bytes: icalendar itself (Calendar.from_ical), dateutil's tzical, which
parses the VTIMEZONE text independently and is compared with the tz database, and a small
line-level check of the RFC 5545 framing written here (CRLF, 75-octet folding, BEGIN/END).
"""

import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from dateutil.tz import tzical
from icalendar import Calendar

from visits import ics

LONDON = ZoneInfo("Europe/London")
STAMP = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ORGANIZER = ("Peer Review Programme", "peer.review@example.nhs.uk")
ATTENDEES = [
    ("Dr Asha Patel", "asha.patel@host.example.nhs.uk"),
    ("Sam O'Brien, CNS", "sam.obrien@visiting.example.nhs.uk"),
]


def invite(**overrides) -> bytes:
    kwargs = {
        "uid": "visit-42@peer-review.example.nhs.uk",
        "sequence": 0,
        "start": datetime(2026, 7, 7, 9, 30, tzinfo=LONDON),  # Tuesday, BST
        "end": datetime(2026, 7, 7, 16, 0, tzinfo=LONDON),
        "summary": "Peer review visit: St Elsewhere hosts Holby City",
        "description": "Observe the lung MDT, then feedback.\nBring your badge.",
        "location": "St Elsewhere Hospital, Education Centre, Room 2",
        "organizer": ORGANIZER,
        "attendees": ATTENDEES,
        "url": "https://peer-review.example.nhs.uk/visits/42/",
        "stamp": STAMP,
    }
    kwargs.update(overrides)
    return ics.visit_invitation(**kwargs)


def event_of(data: bytes):
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


# --- the calendar and the event --------------------------------------------------------------


def test_request_headers_and_identity():
    calendar, event = event_of(invite())
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//Peer Review Programmes//EN"
    assert str(event["UID"]) == "visit-42@peer-review.example.nhs.uk"
    assert event["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTAMP") == STAMP
    assert b"DTSTAMP:20260501T120000Z\r\n" in invite()  # UTC form, RFC 5545 3.8.7.2


def test_summer_date_is_0930_bst():
    data = invite()
    _, event = event_of(data)
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTEND"].params["TZID"] == "Europe/London"
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute) == (9, 30)
    assert start.utcoffset() == timedelta(hours=1)
    assert start.astimezone(UTC) == datetime(2026, 7, 7, 8, 30, tzinfo=UTC)
    assert b"DTSTART;TZID=Europe/London:20260707T093000\r\n" in data


def test_winter_date_is_0930_gmt():
    data = invite(
        start=datetime(2026, 12, 8, 9, 30, tzinfo=LONDON),
        end=datetime(2026, 12, 8, 16, 0, tzinfo=LONDON),
    )
    _, event = event_of(data)
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute, start.utcoffset()) == (9, 30, timedelta(0))
    assert start.astimezone(UTC) == datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    assert b"DTSTART;TZID=Europe/London:20261208T093000\r\n" in data
    assert b"DTEND;TZID=Europe/London:20261208T160000\r\n" in data


def test_aware_time_in_another_zone_is_written_as_london_wall_time():
    data = invite(
        start=datetime(2026, 7, 7, 8, 30, tzinfo=UTC), end=datetime(2026, 7, 7, 15, tzinfo=UTC)
    )
    assert b"DTSTART;TZID=Europe/London:20260707T093000\r\n" in data
    assert b"DTEND;TZID=Europe/London:20260707T160000\r\n" in data


def test_naive_datetimes_refused():
    with pytest.raises(ValueError, match="start"):
        invite(start=datetime(2026, 7, 7, 9, 30))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="end"):
        invite(end=datetime(2026, 7, 7, 16, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="stamp"):
        invite(stamp=datetime(2026, 5, 1, 12, 0))  # noqa: DTZ001


def test_other_bad_input_refused():
    with pytest.raises(ValueError, match="after"):
        invite(end=datetime(2026, 7, 7, 9, 30, tzinfo=LONDON))
    with pytest.raises(ValueError, match="method"):
        invite(method="PUBLISH")
    with pytest.raises(ValueError, match="sequence"):
        invite(sequence=-1)
    with pytest.raises(ValueError, match="uid"):
        invite(uid=" ")
    with pytest.raises(ValueError, match="attendee"):
        invite(attendees=[])
    with pytest.raises(ValueError, match="email"):
        invite(attendees=[("Nobody", "not-an-address")])


def test_text_fields_round_trip():
    _, event = event_of(invite())
    assert str(event["SUMMARY"]) == "Peer review visit: St Elsewhere hosts Holby City"
    assert str(event["DESCRIPTION"]) == "Observe the lung MDT, then feedback.\nBring your badge."
    assert str(event["LOCATION"]) == "St Elsewhere Hospital, Education Centre, Room 2"
    assert str(event["URL"]) == "https://peer-review.example.nhs.uk/visits/42/"


def test_empty_optional_fields_are_left_out():
    _, event = event_of(invite(description="", location="", url=None))
    assert "DESCRIPTION" not in event
    assert "LOCATION" not in event
    assert "URL" not in event


def test_organizer_and_attendees():
    _, event = event_of(invite())
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:peer.review@example.nhs.uk"
    assert organizer.params["CN"] == "Peer Review Programme"
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == [
        "mailto:asha.patel@host.example.nhs.uk",
        "mailto:sam.obrien@visiting.example.nhs.uk",
    ]
    assert attendees[1].params["CN"] == "Sam O'Brien, CNS"
    for attendee in attendees:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"


def test_single_attendee_and_duplicates():
    _, event = event_of(invite(attendees=[("A", "a@x.nhs.uk"), ("A again", " A@X.nhs.uk ")]))
    assert str(event["ATTENDEE"]) == "mailto:a@x.nhs.uk"  # one ATTENDEE: not a list


def test_double_quote_in_a_name_becomes_an_apostrophe():
    # icalendar would otherwise write RFC 6868's ^' escape, which Outlook shows literally.
    data = invite(attendees=[('Dr "Jo" Bloggs\r\nInjected: x', "jo@x.nhs.uk")])
    assert b"^'" not in data
    _, event = event_of(data)
    assert event["ATTENDEE"].params["CN"] == "Dr 'Jo' Bloggs Injected: x"


def test_reminder_one_day_before():
    _, event = event_of(invite())
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert str(alarm["DESCRIPTION"])


def test_cancel():
    data = invite(method="CANCEL", sequence=3)
    calendar, event = event_of(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "visit-42@peer-review.example.nhs.uk"
    assert event["SEQUENCE"] == 3
    assert event.walk("VALARM") == []
    for attendee in event["ATTENDEE"]:
        assert "RSVP" not in attendee.params  # nothing to reply to
    assert ics.visit_invitation(**_same_args(method="cancel")) == ics.visit_invitation(
        **_same_args(method="CANCEL")
    )


def _same_args(**overrides):
    return {
        "uid": "u1",
        "sequence": 1,
        "start": datetime(2026, 7, 7, 9, 30, tzinfo=LONDON),
        "end": datetime(2026, 7, 7, 16, 0, tzinfo=LONDON),
        "summary": "s",
        "description": "d",
        "location": "l",
        "organizer": ORGANIZER,
        "attendees": ATTENDEES,
        "stamp": STAMP,
        **overrides,
    }


def test_update_keeps_uid_and_carries_new_sequence():
    first = event_of(invite(sequence=0))[1]
    moved = event_of(
        invite(
            sequence=1,
            start=datetime(2026, 7, 14, 9, 30, tzinfo=LONDON),
            end=datetime(2026, 7, 14, 16, 0, tzinfo=LONDON),
        )
    )[1]
    assert str(first["UID"]) == str(moved["UID"])
    assert (first["SEQUENCE"], moved["SEQUENCE"]) == (0, 1)


def test_deterministic_with_fixed_stamp():
    assert invite() == invite()


def test_default_stamp_is_now_in_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    _, event = event_of(invite(stamp=None))
    stamp = event.decoded("DTSTAMP")
    assert stamp.utcoffset() == timedelta(0)
    assert before <= stamp <= datetime.now(UTC)


# --- the time zone ---------------------------------------------------------------------------


def test_vtimezone_present_with_standard_and_daylight():
    calendar, _ = event_of(invite())
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/London"
    assert len(timezone.walk("STANDARD")) == 1
    assert len(timezone.walk("DAYLIGHT")) == 1
    assert calendar.get_missing_tzids() == set()  # icalendar's own RFC 5545 3.2.19 check
    data = invite()
    assert data.index(b"BEGIN:VTIMEZONE") < data.index(b"BEGIN:VEVENT")


def test_vtimezone_is_an_outlook_style_yearly_rule():
    # [MS-OXCICAL] 2.1.3.1.1.19.2.2: YEARLY, one BYDAY occurrence of one weekday.
    data = invite()
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in data
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in data
    assert b"RDATE" not in data


def test_vtimezone_agrees_with_the_tz_database_1997_to_2037():
    """dateutil's tzical parses our VTIMEZONE text on its own; it must give zoneinfo's UTC
    offset at noon every day and every quarter hour of each day the clocks change."""
    ours = tzical(StringIO(invite().decode())).get("Europe/London")
    day = date(1997, 1, 1)
    while day < date(2038, 1, 1):
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        changes = LONDON.utcoffset(midnight) != LONDON.utcoffset(midnight + timedelta(days=1))
        steps = range(0, 24 * 60, 15) if changes else (12 * 60,)
        for minutes in steps:
            instant = midnight + timedelta(minutes=minutes)
            assert instant.astimezone(ours).utcoffset() == instant.astimezone(LONDON).utcoffset(), (
                instant
            )
        day += timedelta(days=1)


# --- RFC 5545 framing, checked line by line without icalendar -------------------------------


CONTENT_LINE = re.compile(rb"^[A-Za-z0-9-]+(;[A-Za-z0-9-]+=[^:;]*(?:\"[^\"]*\"[^:;]*)*)*:")


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_rfc5545_framing(method):
    data = invite(
        method=method,
        summary="Peer review visit – St Mary’s hosts Royal Free (lung cancer MDT) " * 3,
        description="Ünïcödé text, long enough to be folded in the middle of a character. " * 5,
    )
    # 3.1: lines end in CRLF; no bare LF or CR.
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")[:-1]
    # 3.1: no line longer than 75 octets; a fold is CRLF then one space.
    assert max(len(line) for line in lines) <= 75
    # Folding must not split a UTF-8 character: every physical line decodes on its own.
    for line in lines:
        line.decode("utf-8")
    unfolded: list[bytes] = []
    for line in lines:
        if line.startswith(b" "):
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    assert unfolded[0] == b"BEGIN:VCALENDAR"
    assert unfolded[-1] == b"END:VCALENDAR"
    # Components nest properly.
    stack: list[bytes] = []
    for line in unfolded:
        assert CONTENT_LINE.match(line), line
        if line.startswith(b"BEGIN:"):
            stack.append(line[6:])
        elif line.startswith(b"END:"):
            assert stack.pop() == line[4:]
    assert stack == []
    # 3.6 / 3.7: exactly one of each calendar property; VERSION and PRODID required.
    names = [line.split(b":", 1)[0].split(b";", 1)[0] for line in unfolded]
    for required in (b"VERSION", b"PRODID", b"METHOD"):
        assert names.count(required) == 1
    assert f"METHOD:{method}".encode() in unfolded
    # The long text survives folding intact.
    _, event = event_of(data)
    assert str(event["DESCRIPTION"]).startswith("Ünïcödé text")


# --- attachment name and content type --------------------------------------------------------


def test_content_types():
    assert ics.ICS_CONTENT_TYPE == "text/calendar; method=REQUEST"
    assert ics.ics_content_type() == ics.ICS_CONTENT_TYPE
    assert ics.ics_content_type("CANCEL") == "text/calendar; method=CANCEL"
    assert ics.ics_content_type("cancel") == "text/calendar; method=CANCEL"
    with pytest.raises(ValueError):
        ics.ics_content_type("PUBLISH")


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("Peer review visit: St Mary's", "peer-review-visit-st-marys.ics"),
        ("Visit – Hôpital Élan / MDT", "visit-hopital-elan-mdt.ics"),
        ("  ", "invitation.ics"),
        ("–––", "invitation.ics"),
        ("x" * 100, "x" * 60 + ".ics"),
    ],
)
def test_ics_filename(summary, expected):
    assert ics.ics_filename(summary) == expected
