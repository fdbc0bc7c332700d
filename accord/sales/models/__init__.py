"""Pipelines, deals and what hangs off them; forecast inputs; leads."""

from .deal import Deal, DealContact, DealStatus, ForecastCategory, LineItem, StageChange
from .forecast import ExchangeRate, Period, Quota, RotReminder
from .lead import (
    AssignmentRule,
    CaptureForm,
    FormSubmission,
    Lead,
    LeadActivity,
    LeadEntryKind,
    LeadScoreChange,
    LeadSettings,
    LeadStatus,
    ScoringRule,
)
from .pipeline import Pipeline, Stage, StageKind

__all__ = [
    "Deal", "DealContact", "DealStatus", "ExchangeRate", "ForecastCategory", "LineItem",
    "Period", "Pipeline", "Quota", "RotReminder", "Stage", "StageChange", "StageKind",
    "AssignmentRule", "CaptureForm", "FormSubmission", "Lead", "LeadActivity", "LeadEntryKind",
    "LeadScoreChange", "LeadSettings", "LeadStatus", "ScoringRule",
]
