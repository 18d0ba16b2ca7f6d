"""The demo's replies, attendance and slides for its workshops and conferences.

For every announced event with invitations: most people coming, some not, some not replied;
for events that have happened, attendance recorded and two documents added through the
service, as a core team would after the day. Deterministic for a given programme and day.
Replies are set directly: the service rightly refuses replies to an event that has started.
"""

import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from ilcop.pdf import render_pdf
from programmes.models import Programme

from .models import Event, EventInvitation, EventMaterial
from .services import event_responses as services

# Of every ten invitees: seven coming, two not, one not replied (ILCOP's workshops drew
# most of those invited once the date was agreed well ahead).
REPLY_MIX = (["attending"] * 7 + ["not_attending"] * 2 + ["pending"])
CAME_IF_COMING = 0.9  # a few who said they would come did not, on the day

DOCUMENTS = [
    ("Lessons from CNS-led follow-up clinics (slides)", [
        ("Why follow-up moved to the CNS", [
            "Consultant clinics were full of stable patients with nothing new to discuss.",
            "Patients said they wanted more time with someone who knew their story."]),
        ("What the teams changed", [
            "A CNS-led clinic for patients two years after treatment, with a clear route back.",
            "A holistic needs assessment at every visit, recorded in the MDT system."]),
        ("What happened", [
            "Waits for a new-patient appointment fell as consultant slots were freed.",
            "Patients rated the clinic as highly as the consultant clinic it replaced."]),
    ]),
    ("Breakout notes: making the MDT meeting work", [
        ("Before the meeting", [
            "Close the case list two working days before, so members can prepare.",
            "Say for each patient what question the MDT is asked to answer."]),
        ("In the meeting", [
            "Keep to time: the chair moves on when a case needs more information.",
            "Record the decision and who tells the patient, before the next case."]),
    ]),
]


def _pdf(event: Event, title: str, slides: list) -> bytes:
    return render_pdf("visits/events/material_demo_pdf.html",
                      {"event": event, "title": title, "slides": slides})


def _replies(event: Event, rng: random.Random) -> None:
    now = timezone.now()
    # Shuffled once per event and dealt in turn, so every event of ten or more invitees has
    # the whole mix.
    mix = rng.sample(REPLY_MIX, len(REPLY_MIX))
    for index, invitation in enumerate(event.invitations.order_by("user__email")):
        response = mix[index % len(mix)]
        EventInvitation.objects.filter(pk=invitation.pk).update(
            response=response, responded_at=None if response == "pending" else now)


@transaction.atomic
def build_demo_event_responses(programme: Programme, actor=None) -> dict[str, int]:
    """Replies for every announced event with invitations; attendance and two documents for
    those that have happened. Running it again changes nothing for an event that already
    has its replies."""
    counts = {"events": 0, "replies": 0, "attendance": 0, "materials": 0}
    today = timezone.localdate()
    events = (programme.events.filter(status=Event.Status.ANNOUNCED, invitations__isnull=False)
              .distinct().order_by("date", "pk"))
    for event in events:
        # Seeded by the event's title, not its key, so a rebuilt demo (seed_demo --reset)
        # gets exactly the same replies.
        rng = random.Random(event.title)
        counts["events"] += 1
        if not event.invitations.exclude(response=EventInvitation.Response.PENDING).exists():
            _replies(event, rng)
            counts["replies"] += event.invitations.exclude(
                response=EventInvitation.Response.PENDING).count()
        if event.date is None or event.date >= today:
            continue
        if not event.invitations.filter(attended__isnull=False).exists():
            came = [i.pk for i in event.invitations.filter(
                response=EventInvitation.Response.ATTENDING).order_by("user__email")
                if rng.random() < CAME_IF_COMING]
            services.event_attendance_record(event=event, user=actor, came=came)
            counts["attendance"] += len(came)
        if not EventMaterial.objects.filter(event=event).exists():
            for title, slides in DOCUMENTS:
                name = title.split(" (")[0].replace(":", "").lower().replace(" ", "-") + ".pdf"
                upload = SimpleUploadedFile(name, _pdf(event, title, slides),
                                            content_type="application/pdf")
                services.event_material_add(event=event, user=actor, title=title,
                                            file=upload)
                counts["materials"] += 1
    return counts
