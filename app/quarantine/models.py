from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerId, UTCDateTime

MEMBER_TYPES = ("order", "leg", "message")


class QuarantinedMember(Base):
    """One order, leg or message a job set aside because handling it raised.

    The job goes on with the rest; the member is tried again when it next changes and on a slow
    timer, and its row is deleted once it goes through. One row per member: a member belongs to
    one job (orders to the rules, legs to polling, messages to dispatch)."""

    __tablename__ = "quarantined_members"
    __table_args__ = (
        Index("uq_quarantined_members_member", "member_type", "member_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    member_type: Mapped[str] = mapped_column(String(16))  # order | leg | message
    member_id: Mapped[int] = mapped_column(BigInteger)
    job: Mapped[str] = mapped_column(String(32))  # rules | polling | dispatch
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)  # for people to find it
    error_type: Mapped[str] = mapped_column(String(128))
    error: Mapped[str] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_at: Mapped[datetime] = mapped_column(UTCDateTime)
