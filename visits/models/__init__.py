"""The visits app's models, one module per subject: arranging visits (core), the visit day
(day), the observation form (observation), the visit report (report), national
workshops and online conferences (events) and one-way peer reviews (review)."""

from .core import (
    AvailabilityPoll,
    LogisticsTask,
    PollAnswer,
    PollDate,
    PollInvitee,
    Visit,
    VisitAttendee,
    role_label,
)
from .day import (
    AgendaTemplate,
    AgendaTemplateItem,
    Contribution,
    FacilitatorNote,
    FocusArea,
    TeamFeedback,
    VisitAgendaItem,
)
from .events import Event, EventInvitation, EventMaterial, EventSession
from .observation import ObservationForm, ObservationResponse
from .report import VisitReport
from .review import (
    LineOfEnquiry,
    PeerReview,
    ReportRecipient,
    ReviewChecklistItem,
    ReviewDocument,
    ReviewTeamMember,
    StandardFinding,
)

__all__ = [
    "LineOfEnquiry",
    "PeerReview",
    "ReportRecipient",
    "ReviewChecklistItem",
    "ReviewDocument",
    "ReviewTeamMember",
    "StandardFinding",
    "AgendaTemplate",
    "AgendaTemplateItem",
    "AvailabilityPoll",
    "Contribution",
    "Event",
    "EventInvitation",
    "EventMaterial",
    "EventSession",
    "FacilitatorNote",
    "FocusArea",
    "LogisticsTask",
    "ObservationForm",
    "ObservationResponse",
    "PollAnswer",
    "PollDate",
    "PollInvitee",
    "TeamFeedback",
    "Visit",
    "VisitAgendaItem",
    "VisitAttendee",
    "VisitReport",
    "role_label",
]
