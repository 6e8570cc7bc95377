"""The tenancy tables: regions, their domains, plugin states, role grants and the
roles a region defines itself (:class:`CustomRole`, held through :class:`RoleMember`).

Any change to them bumps :class:`StateVersion` in the same transaction
(:func:`bump_state`), so every worker's registry snapshot notices it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from balai.db import Base, TenantScoped, utcnow
from balai.i18n import N_

# Indonesia's three time zones; a region shows times in its own.
TIMEZONES = {
    "Asia/Jakarta": N_("Western Indonesia Time (WIB)"),
    "Asia/Makassar": N_("Central Indonesia Time (WITA)"),
    "Asia/Jayapura": N_("Eastern Indonesia Time (WIT)"),
}
DEFAULT_TIMEZONE = "Asia/Jakarta"


class Tenant(Base):
    """A region (*daerah*): kota, kabupaten or provinsi."""

    __tablename__ = "balai_tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(100), default="default")
    colours: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    logo: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[Domain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="Domain.id"
    )


class Domain(Base):
    """A host name that serves one tenant."""

    __tablename__ = "balai_domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("balai_tenant.id", ondelete="CASCADE"))
    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class PluginState(TenantScoped, Base):
    """Whether a tenant has a plugin switched on, and its settings there."""

    __tablename__ = "balai_plugin_state"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(254))


class RoleGrant(TenantScoped, Base):
    """A region's change to a role's default permissions: granted or withdrawn."""

    __tablename__ = "balai_role_grant"
    __table_args__ = (UniqueConstraint("tenant_id", "role", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    permission: Mapped[str] = mapped_column(String(150))
    granted: Mapped[bool] = mapped_column()


class CustomRole(TenantScoped, Base):
    """A role a region defines (*peran khusus*): a name and a set of declared permissions.

    A user holds one built-in role (``User.role``) and any number of custom roles
    (:class:`RoleMember` rows); what they may do is the union. The slug never
    changes once the role exists: the snapshot and the audit trail name roles by it.
    """

    __tablename__ = "balai_custom_role"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoleMember(TenantScoped, Base):
    """A user holding a custom role of their region."""

    __tablename__ = "balai_role_member"
    __table_args__ = (UniqueConstraint("user_id", "role_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("balai_user.id", ondelete="CASCADE"), index=True
    )
    # A role still held cannot be deleted: the roles page refuses, and so does the table.
    role_id: Mapped[int] = mapped_column(
        ForeignKey("balai_custom_role.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))


class StateVersion(Base):
    """One row whose number grows with every change workers must notice."""

    __tablename__ = "balai_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


def bump_state(session: Session) -> None:
    """Tell every worker that tenants, domains, plugins, grants or custom roles changed."""
    result = session.execute(
        update(StateVersion).where(StateVersion.id == 1).values(version=StateVersion.version + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(StateVersion(id=1, version=1))
