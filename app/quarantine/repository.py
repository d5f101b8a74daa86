"""Setting members aside and letting them back in; all SQL for the quarantine lives here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import db
from app.quarantine.models import QuarantinedMember
from app.quarantine.policy import retry_delay

ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class SetAside:
    """What a job tells the quarantine about one member that raised."""

    member_type: str  # order | leg | message
    member_id: int
    job: str
    order_id: int | None
    error_type: str
    error: str  # words safe to show ops: never a secret, never a whole payload


async def set_aside(session: AsyncSession, member: SetAside, *, now: datetime) -> datetime:
    """Records (or counts again) a member that raised; returns when it is due to be tried again."""
    existing = await session.scalar(
        select(QuarantinedMember.failures).where(
            QuarantinedMember.member_type == member.member_type,
            QuarantinedMember.member_id == member.member_id,
        )
    )
    failures = (existing or 0) + 1
    retry_at = now + retry_delay(failures)
    values = {
        "job": member.job,
        "order_id": member.order_id,
        "error_type": member.error_type[:128],
        "error": member.error[:ERROR_CHARS],
        "failures": failures,
        "last_failed_at": now,
        "retry_at": retry_at,
    }
    stmt = db.dialect_insert(session, QuarantinedMember.__table__).values(
        member_type=member.member_type,
        member_id=member.member_id,
        first_failed_at=now,
        **values,
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["member_type", "member_id"], set_=values)
    )
    return retry_at


async def release(session: AsyncSession, *, member_type: str, member_ids: Sequence[int]) -> int:
    """Lets members that went through back in; returns how many were set aside."""
    if not member_ids:
        return 0
    result = await session.execute(
        delete(QuarantinedMember).where(
            QuarantinedMember.member_type == member_type,
            QuarantinedMember.member_id.in_(member_ids),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def list_members(session: AsyncSession, *, limit: int = 200) -> list[QuarantinedMember]:
    """The members set aside, longest-failing first."""
    stmt = (
        select(QuarantinedMember)
        .order_by(QuarantinedMember.first_failed_at, QuarantinedMember.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def count_by_type(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(QuarantinedMember.member_type, func.count()).group_by(QuarantinedMember.member_type)
    )
    return {member_type: int(count) for member_type, count in rows}


async def oldest_failed_at(session: AsyncSession) -> datetime | None:
    """When the longest-waiting member first failed; None when nothing is set aside."""
    return await session.scalar(select(func.min(QuarantinedMember.first_failed_at)))
