"""SQLAlchemy models: the tables of one jurisdiction, one module per feature.

One database holds one jurisdiction (a county or development zone), so human ids
such as ``L0001`` are unique per database. Every module is imported here so that
``Base.metadata`` (Alembic's target) knows every table.
"""

from storage.models.access import (
    AuditEntry,
    Chat,
    ChatKind,
    Invite,
    Member,
    PersistedData,
    ProcessedUpdate,
    Role,
    Unit,
)
from storage.models.base import Base, UTCDateTime
from storage.models.forms import FormDraft
from storage.models.funds import FundsRecord
from storage.models.leads import Lead, LeadEvent, Review, lead_code
from storage.models.scoring import Activity, ActivityKind, LedgerEntry, UnitScore, activity_code
from storage.models.web import WebSignin
from storage.models.weekly import (
    JobMark,
    MemberLeave,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    VersionStatus,
    WeeklyDraft,
    WeeklySkip,
    WeeklySubmission,
    WeeklyVersion,
)

__all__ = [
    "Activity",
    "ActivityKind",
    "AuditEntry",
    "Base",
    "Chat",
    "ChatKind",
    "FormDraft",
    "FundsRecord",
    "Invite",
    "JobMark",
    "Lead",
    "LeadEvent",
    "LedgerEntry",
    "Member",
    "MemberLeave",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "PersistedData",
    "ProcessedUpdate",
    "Review",
    "Role",
    "UTCDateTime",
    "Unit",
    "UnitScore",
    "VersionStatus",
    "WebSignin",
    "WeeklyDraft",
    "WeeklySkip",
    "WeeklySubmission",
    "WeeklyVersion",
    "activity_code",
    "lead_code",
]
