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
