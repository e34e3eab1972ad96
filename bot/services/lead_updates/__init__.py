"""After the report: browsing leads, moving stages, leaders' review, corrections.

Who may do what (the handlers show only the buttons that fit, but every rule is
checked here again):

* read: the lead's unit and leaders/admins see the full card; members of other
  units the outline (:func:`bot.services.leads.card`); strangers nothing;
* stage: the lead's unit and leaders; moving *backwards* needs a leader;
  skipping stages forward is allowed and recorded as one move;
* review: leaders and admins only. Rejecting a lead that is the first report of
  its company clears ``first_key``: the company is free again and the next report
  of it becomes the first. Leads already stored as duplicates of it stay
  duplicates. Verifying a rejected first report claims the company back if
  nobody has claimed it since; otherwise the lead becomes a duplicate of the
  newer first report;
* edit: the lead's unit (liaisons and head). A new company name gets a new key;
  a first report moves its claim to the new key, refused when another lead
  holds it; a duplicate stays a duplicate.

Every change is one :class:`LeadEvent` (kind ``stage``, ``verify``, ``reject``
or ``edit``) with who, when, from, to and the note; scoring reads those.

The package: :mod:`.reading` (browse, one lead's card, its files), :mod:`.stages`
(the stage menu and moves), :mod:`.review` (verify, reject, the first-report
reclaim, stage-node confirmation), :mod:`.edits` (field corrections and value
parsing), :mod:`.common` (loading a lead, the checks and the event every change
writes). Everything public is re-exported here, so
``from bot.services.lead_updates import X`` and ``lead_updates.move_stage`` keep working.
"""

from __future__ import annotations

from bot.services.lead_updates.common import LeadRef
from bot.services.lead_updates.edits import (
    CHOICES,
    FIELDS,
    REQUIRED,
    EditMenu,
    EditPrompt,
    EditResult,
    edit_lead,
    edit_menu,
    parse_percent,
    parse_value,
    start_edit,
)
from bot.services.lead_updates.reading import (
    PAGE_SIZE,
    LeadFile,
    LeadPage,
    LeadRow,
    LeadView,
    browse,
    lead_files,
    view_lead,
)
from bot.services.lead_updates.review import (
    REASON_MAX,
    NodeConfirmed,
    Recipient,
    ReviewResult,
    check_reject,
    confirm_node,
    reject_lead,
    verify_lead,
)
from bot.services.lead_updates.stages import (
    StageChange,
    StageMenu,
    check_stage,
    move_stage,
    stage_menu,
)

__all__ = [
    "CHOICES",
    "FIELDS",
    "PAGE_SIZE",
    "REASON_MAX",
    "REQUIRED",
    "EditMenu",
    "EditPrompt",
    "EditResult",
    "LeadFile",
    "LeadPage",
    "LeadRef",
    "LeadRow",
    "LeadView",
    "NodeConfirmed",
    "Recipient",
    "ReviewResult",
    "StageChange",
    "StageMenu",
    "browse",
    "check_reject",
    "check_stage",
    "confirm_node",
    "edit_lead",
    "edit_menu",
    "lead_files",
    "move_stage",
    "parse_percent",
    "parse_value",
    "reject_lead",
    "stage_menu",
    "start_edit",
    "verify_lead",
    "view_lead",
]
