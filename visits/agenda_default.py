"""The default visit-day agenda: Box 1 of Aveling et al. 2012.

Pure data, no Django: each programme's default AgendaTemplate is built from DEFAULT_AGENDA
(visits.services.day.agenda_template_default), and each visit copies its programme's template.

Source: Aveling E-L, Martin G, Jiménez García S, et al. "Reciprocal peer review for quality
improvement: an ethnographic case study of the Improving Lung Cancer Outcomes Project".
BMJ Qual Saf 2012;21:1034-41. Box 1 lists the core elements of the visit: the host's
introduction, observation of the host's MDT meeting on a structured form, three discussion
sessions of about 30 minutes to an hour (MDT functioning, national audit data, the patient
experience survey), and a summary that agrees the focus of improvement and introduces the QIP
template and PDSA cycles. The paper's section on the structure of discussion sessions gives the
order within each discussion (the host speaks first; peer-to-peer, then within teams, then
between teams) and its section on the facilitator gives the facilitator's job (every voice
heard, good timekeeping, strengths as well as problems, solutions rather than complaints).

The kinds are the values of visits.models.day.SessionKind, kept as plain strings here.
"""

from dataclasses import dataclass

TEMPLATE_NAME = "Visit day (Box 1)"

# Discussions last about 30 minutes to an hour each (Box 1).
DISCUSSION_MINUTES_MIN = 30
DISCUSSION_MINUTES_MAX = 60


@dataclass(frozen=True)
class Session:
    kind: str
    title: str
    minutes: int
    guidance: str


_SAFE_SPACE = (
    "Keep the space safe and constructive: this is peers learning from each other, not an "
    "inspection. Ask for strengths as well as things to improve, and capture both. Steer "
    "criticism towards what could be done with what the team has. Make sure every voice is "
    "heard, including non-clinical members such as the MDT coordinator: invite them by name "
    "if the discussion turns clinical."
)

_DISCUSSION_ORDER = (
    "Run it in four steps:\n"
    "1. The host team speaks first about {topic}, before anyone comments.\n"
    "2. Role to role: each visitor talks with their opposite number (nurse to nurse, "
    "coordinator to coordinator, lead to lead).\n"
    "3. Each team talks among itself about what it heard.\n"
    "4. The teams feed back to each other."
)


def _discussion(topic: str, prompt: str) -> str:
    """Paragraphs are separated by a blank line, steps by a line break."""
    return f"{prompt}\n\n{_DISCUSSION_ORDER.format(topic=topic)}\n\n{_SAFE_SPACE}"


DEFAULT_AGENDA: tuple[Session, ...] = (
    Session(
        kind="introduction",
        title="Host team's introduction",
        minutes=20,
        guidance=(
            "The host team presents how its MDT is set up and its local context: the "
            "catchment, the hospitals it serves, who attends the MDT meeting and how patients "
            "flow through it. Visitors ask questions to understand, not to judge. Remind "
            "everyone that the day has no regulatory or accreditation role."
        ),
    ),
    Session(
        kind="observation",
        title="Observation of the host's MDT meeting",
        minutes=90,
        guidance=(
            "The visitors observe the host team's real MDT meeting and record comments and "
            "suggestions on the structured observation form: attendance, chairing, access to "
            "technology and information, and how decisions are made and recorded. Visitors "
            "observe quietly; their notes feed the first discussion."
        ),
    ),
    Session(
        kind="mdt_discussion",
        title="Discussion: how the MDT meeting functions",
        minutes=45,
        guidance=_discussion(
            "how they think their MDT meeting works",
            "Use the visitors' observations as the starting point for a discussion of how "
            "the MDT meeting functions.",
        ),
    ),
    Session(
        kind="audit_discussion",
        title="Discussion: national audit data",
        minutes=45,
        guidance=_discussion(
            "their audit figures",
            "Discuss the host team's national audit data against the comparator and target "
            "figures in the data pack. Check that everyone knows each figure's source, period "
            "and denominator, and look for the story behind the numbers.",
        ),
    ),
    Session(
        kind="survey_discussion",
        title="Discussion: patient experience survey",
        minutes=45,
        guidance=_discussion(
            "their survey results",
            "Discuss the host team's patient experience survey: the rating-scale results and "
            "the patients' free-text comments. Small numbers of responses are flagged in the "
            "data pack; treat them with care.",
        ),
    ),
    Session(
        kind="summary",
        title="Summary and quality improvement plan",
        minutes=45,
        guidance=(
            "Bring the day together: read back the strengths and the opportunities captured "
            "in each session, then agree with the host team the areas it wants to improve, "
            "each with a named owner. Introduce the structured quality improvement plan (QIP) "
            "template and plan-do-study-act (PDSA) cycles. The host team chooses its focus; "
            "guard against easy wins."
        ),
    ),
)


def total_minutes(agenda: tuple[Session, ...] = DEFAULT_AGENDA) -> int:
    return sum(session.minutes for session in agenda)


# --- a one-way review's day ------------------------------------------------------------------
#
# Source: the evaluation of NHS England's Quality & Nursing Team peer review programme (seed
# 003, recommendations 6.1): "Focus peer review visit interaction on a select number of
# pre-defined issues" (the key lines of enquiry agreed with the service beforehand) and
# "Increase time and opportunities for interaction and informal exchanges during peer review
# visits", because reviewers and services learnt most from informal conversations and the
# visit gave little help on *how* to improve. So the day keeps informal time at arrival, over
# lunch and before the feedback, and closes with verbal feedback that names strengths first.

REVIEW_TEMPLATE_NAME = "One-day peer review"

_REVIEW_SAFE_SPACE = (
    "The aim is improvement, not inspection: ask how things work and what would help, and "
    "say what is done well as readily as what falls short."
)

REVIEW_AGENDA: tuple[Session, ...] = (
    Session(
        kind="informal",
        title="Arrival and coffee with the service team",
        minutes=30,
        guidance=(
            "Informal time: reviewers meet the people they will talk to later, away from the "
            "formal sessions. Nothing is recorded. " + _REVIEW_SAFE_SPACE
        ),
    ),
    Session(
        kind="introduction",
        title="The service's introduction",
        minutes=30,
        guidance=(
            "The service presents itself, its self-report and what it is proud of and "
            "worried about. Reviewers ask questions to understand."
        ),
    ),
    Session(
        kind="lines_of_enquiry",
        title="Discussion: the key lines of enquiry",
        minutes=75,
        guidance=(
            "Work through the lines of enquiry agreed with the service before the visit, one "
            "at a time. For each, ask what the service has tried, what got in the way and "
            "what help would make a difference. " + _REVIEW_SAFE_SPACE
        ),
    ),
    Session(
        kind="informal",
        title="Lunch with staff",
        minutes=45,
        guidance=(
            "Informal time with staff who were not in the morning's sessions, including "
            "administrative staff and, where they wish, patients. Nothing is recorded."
        ),
    ),
    Session(
        kind="standards",
        title="Review against the standards",
        minutes=75,
        guidance=(
            "Go through the standards with the evidence the service shared, recording each as "
            "met, partly met or not met with the evidence seen. Note good practice others "
            "could learn from, and for anything not met, how the service could improve."
        ),
    ),
    Session(
        kind="informal",
        title="Reviewers' private time",
        minutes=30,
        guidance=(
            "The review team agrees its findings and the points for the verbal feedback."
        ),
    ),
    Session(
        kind="review_feedback",
        title="Verbal feedback to the service",
        minutes=30,
        guidance=(
            "Strengths first, then the findings against each standard and the suggestions on "
            "how to improve. Agree what goes into the action plan, who owns it and when the "
            "next review will be. The written report follows."
        ),
    ),
)


def agenda_for(kind: str) -> tuple[str, tuple[Session, ...]]:
    """The default agenda's name and sessions for a programme of ``kind`` (Programme.Kind's
    values): the ILCOP visit day, or a one-way review's day."""
    if kind == "one_way":
        return REVIEW_TEMPLATE_NAME, REVIEW_AGENDA
    return TEMPLATE_NAME, DEFAULT_AGENDA
