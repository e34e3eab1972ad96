"""Forms in progress: one draft per person, the only place a form's state is kept.

The row's primary key is the person (``tg:1101``, later ``dt:…`` or ``web:…``), so
"one form at a time" is a property of the table, not of the code. ``version``
grows with every answer so two instances answering at once cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class FormDraft(Base):
    __tablename__ = "form_drafts"

    person: Mapped[str] = mapped_column(String(64), primary_key=True)
    form: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    touched_at: Mapped[datetime] = mapped_column(index=True)
