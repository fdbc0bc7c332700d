"""Tickets and their threads, the queues they wait in and the SLAs they run against."""

from .canned import CannedReply
from .knowledge import Article, ArticleCategory, ArticleStatus, ArticleVersion, Visibility
from .portal import PortalSettings, PortalSignInRequest
from .sla import BusinessCalendar, SlaPolicy
from .ticket import (
    UNRESOLVED,
    Channel,
    MessageKind,
    Priority,
    Queue,
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
    "UNRESOLVED", "BusinessCalendar", "CannedReply", "Channel", "MessageKind", "Priority",
    "Queue", "SlaPolicy", "Ticket", "TicketAttachment", "TicketMessage", "TicketSequence",
    "TicketStatus", "TicketStatusChange", "TicketTag", "TicketViewer",
]
