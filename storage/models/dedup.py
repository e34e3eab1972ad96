"""Answers to "same company?" that must not be asked again.

When a reporter says a near match is a *different* company, the pair of
company keys is remembered (sorted, so either order finds it) and the check
leaves that candidate out from then on, for every unit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class DistinctCompanies(Base):
    __tablename__ = "distinct_companies"
    __table_args__ = (UniqueConstraint("key_a", "key_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_a: Mapped[str] = mapped_column(String(200))  # key_a < key_b
    key_b: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
