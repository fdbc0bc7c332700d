"""Tickets and their threads, the queues they wait in and the SLAs they run against."""

from .canned import CannedReply
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
    "UNRESOLVED", "BusinessCalendar", "CannedReply", "Channel", "MessageKind", "Priority",
    "Queue", "SlaPolicy", "Ticket", "TicketAttachment", "TicketMessage", "TicketSequence",
    "TicketStatus", "TicketStatusChange", "TicketTag", "TicketViewer",
]
