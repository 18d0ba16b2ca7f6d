"""The programmes app's models, one module per subject."""

from .audit import Indicator, IndicatorValue
from .community import (
    DirectoryListing,
    GroupMessage,
    Resource,
    ResourceTopic,
    RoleGroupOptOut,
)
from .core import (
    MAX_ANNUAL_NEW_PATIENTS,
    CoreTeamMembership,
    Enrolment,
    Invitation,
    Organisation,
    Programme,
    Region,
    Site,
    SiteMembership,
    SiteMembershipQuerySet,
    Specialty,
    Weekday,
)
from .pairing import Pair, Pairing, PairingConflict, Randomisation
from .survey import Survey, SurveyAnswer, SurveyCollection, SurveyQuestion, SurveyResponse

__all__ = [
    "DirectoryListing",
    "GroupMessage",
    "Resource",
    "ResourceTopic",
    "RoleGroupOptOut",
    "MAX_ANNUAL_NEW_PATIENTS",
    "CoreTeamMembership",
    "Enrolment",
    "Indicator",
    "IndicatorValue",
    "Invitation",
    "Organisation",
    "Pair",
    "Pairing",
    "PairingConflict",
    "Programme",
    "Randomisation",
    "Region",
    "Site",
    "SiteMembership",
    "SiteMembershipQuerySet",
    "Specialty",
    "Survey",
    "SurveyAnswer",
    "SurveyCollection",
    "SurveyQuestion",
    "SurveyResponse",
    "Weekday",
]
