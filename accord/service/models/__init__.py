"""Tickets and their threads, the queues they wait in and the SLAs they run against."""

from .canned import CannedReply
from .escalation import SlaAlert, SlaAlertKind, SlaTarget
from .knowledge import Article, ArticleCategory, ArticleStatus, ArticleVersion, Visibility
from .outreach import Outreach, OutreachRecipient
from .portal import PortalSettings, PortalSignInRequest
from .routing import AssignMode, RoutingRule
from .satisfaction import RATING_CHOICES, SatisfactionSurvey
from .sla import BusinessCalendar, SlaPolicy
from .ticket import (
    UNRESOLVED,
    Channel,
    ImapSecurity,
    LeadMail,
    MessageKind,
    Priority,
    Queue,
    QueuePurpose,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketSequence,
    TicketStatus,
    TicketStatusChange,
    TicketTag,
    TicketViewer,
)

__all__ = [
    "Article", "ArticleCategory", "ArticleStatus", "ArticleVersion", "PortalSettings",
    "PortalSignInRequest", "Visibility",
    "UNRESOLVED", "AssignMode", "BusinessCalendar", "CannedReply", "Channel", "ImapSecurity",
    "LeadMail", "MessageKind", "Outreach", "OutreachRecipient", "Priority", "Queue",
    "QueuePurpose", "RoutingRule",
    "SlaPolicy", "Ticket", "TicketAttachment", "TicketMessage", "TicketSequence",
    "TicketStatus", "TicketStatusChange", "TicketTag", "TicketViewer",
    "RATING_CHOICES", "SatisfactionSurvey", "SlaAlert", "SlaAlertKind", "SlaTarget",
]
