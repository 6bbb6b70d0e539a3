"""Every table. Importing this package registers them all on SQLModel.metadata."""

from tools.models.accounts import ApiKey, Principal, TalentProfile
from tools.models.jobs import Job, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tools.models.lifecycle import (
    Booking,
    Deliverable,
    Dispute,
    Invitation,
    Quote,
    Rating,
    StoredFile,
    WorkOrder,
)
from tools.models.money import EscrowHold, LedgerEntry, PaymentMethod
from tools.models.records import AuditEntry, Event, IdempotencyRecord
from tools.models.tasks import Task

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Booking",
    "Deliverable",
    "Dispute",
    "EscrowHold",
    "Event",
    "IdempotencyRecord",
    "Invitation",
    "Job",
    "LedgerEntry",
    "PaymentMethod",
    "Principal",
    "Quote",
    "Rating",
    "StoredFile",
    "TalentProfile",
    "Task",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkOrder",
]
