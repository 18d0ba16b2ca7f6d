"""Quality improvement plans, their measures, PDSA cycles and progress updates."""

from .measurement import Measure, Measurement, MeasureRebase
from .pdsa import PdsaCycle
from .plan import (
    Barrier,
    Driver,
    Milestone,
    PlanRole,
    QualityImprovementPlan,
    ReviewComment,
)
from .progress import ProgressUpdate, SupportRecord

__all__ = [
    "Barrier",
    "Driver",
    "Measure",
    "MeasureRebase",
    "Measurement",
    "Milestone",
    "PdsaCycle",
    "PlanRole",
    "ProgressUpdate",
    "QualityImprovementPlan",
    "ReviewComment",
    "SupportRecord",
]
