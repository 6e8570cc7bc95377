"""Business rules of ``bank_sampah``, without Flask.

Each function takes the session, which is bound to the current region: a query
returns only that region's rows, and a new row gets its ``tenant_id``. A rule that
says no raises :class:`DepositError` with English message ids, translated by the
page or API endpoint that shows them (``balai.rules.rule_errors``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from balai.api import PageDict, paginate
from balai.i18n import N_
from balai.rules import RuleError
from balai_bank_sampah.models import Deposit

__all__ = [
    "TITLE_TAKEN",
    "DepositError",
    "add_deposit",
    "count_deposits",
    "list_deposits",
    "listing",
]

TITLE_TAKEN = N_("There is already an entry with this title.")


class DepositError(RuleError):
    """A rule refused the entry; ``errors`` maps each field to its message ids."""


def listing() -> Select[tuple[Deposit]]:
    """Every entry, newest first (ending with the id, a total order for paging)."""
    return select(Deposit).order_by(
        Deposit.created_at.desc(),
        Deposit.id.desc(),
    )


def list_deposits(session: Session, page: int = 1, per_page: int = 20) -> PageDict:
    """One page of the entries, with the number of entries on all pages."""
    return paginate(listing(), page, per_page, session=session)


def count_deposits(session: Session) -> int:
    """How many entries the region has."""
    return session.scalar(select(func.count(Deposit.id))) or 0


def add_deposit(session: Session, data: dict[str, Any], now: datetime) -> Deposit:
    """Add an entry from validated ``data`` (see :mod:`~balai_bank_sampah.schemas`).

    :raises DepositError: the region has an entry with this title already.
    """
    title = data["title"].strip()
    same_title = select(Deposit.id).where(Deposit.title == title).limit(1)
    if session.scalar(same_title) is not None:
        raise DepositError({"title": TITLE_TAKEN})
    entry = Deposit(title=title, created_at=now)
    session.add(entry)
    session.flush()
    return entry
