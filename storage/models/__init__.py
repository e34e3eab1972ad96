"""SQLAlchemy models: the tables of one jurisdiction, one module per feature.

One database holds one jurisdiction (a county or development zone), so human ids
such as ``L0001`` are unique per database. Every module is imported here so that
``Base.metadata`` (Alembic's target) knows every table.
"""

from bot.domain.enums import (  # the domain's values, re-exported for the models and queries
    ActivityKind,
    ChatKind,
    OutboxStatus,
    Outcome,
    Review,
    Role,
    VersionStatus,
    activity_code,
    lead_code,
)
from storage.models.access import (
    AuditEntry,
    Chat,
    Invite,
    Member,
    PersistedData,
    ProcessedUpdate,
    Unit,
)
from storage.models.base import Base, UTCDateTime
from storage.models.channels import PRINCIPAL_BASE, ChannelIdentity, ChannelMessage, LinkCode
from storage.models.dedup import DistinctCompanies
from storage.models.forms import FormDraft
from storage.models.funds import FundsRecord, TaxRecord
from storage.models.inbox import InboxStatus, InboxUpdate
from storage.models.leads import Lead, LeadEvent
from storage.models.scoring import Activity, LedgerEntry, UnitScore
from storage.models.web import WebFile, WebSignin
from storage.models.weekly import (
    JobMark,
    MemberLeave,
    OutboxMessage,
    WeeklyDraft,
    WeeklySkip,
    WeeklySubmission,
    WeeklyVersion,
)

__all__ = [
    "PRINCIPAL_BASE",
    "Activity",
    "ActivityKind",
    "AuditEntry",
    "Base",
    "ChannelIdentity",
    "ChannelMessage",
    "Chat",
    "ChatKind",
    "DistinctCompanies",
    "FormDraft",
    "FundsRecord",
    "InboxStatus",
    "InboxUpdate",
    "Invite",
    "JobMark",
    "Lead",
    "LeadEvent",
    "LedgerEntry",
    "LinkCode",
    "Member",
    "MemberLeave",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "PersistedData",
    "ProcessedUpdate",
    "Review",
    "Role",
    "TaxRecord",
    "UTCDateTime",
    "Unit",
    "UnitScore",
    "VersionStatus",
    "WebFile",
    "WebSignin",
    "WeeklyDraft",
    "WeeklySkip",
    "WeeklySubmission",
    "WeeklyVersion",
    "activity_code",
    "lead_code",
]
