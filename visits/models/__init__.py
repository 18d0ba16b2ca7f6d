"""The visits app's models, one module per subject: arranging visits (core), the visit day
(day) and the observation form (observation)."""

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
from .observation import ObservationForm, ObservationResponse

__all__ = [
    "AgendaTemplate",
    "AgendaTemplateItem",
    "AvailabilityPoll",
    "Contribution",
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
    "role_label",
]
