"""Helpers shared by the account tests: users, logins and the outbox."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from balai.auth.accounts import create_user
from balai.auth.models import User
from balai.channels import OutboxMessage, open_message
from balai.db import db
from balai.testing import PASSWORD

NEW_PASSWORD = "sandi-baru-yang-panjang-456"
CODE = re.compile(r"\b([0-9]{6})\b")
LINK = re.compile(r"(http://\S+/undangan/[A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Sent:
    channel: str
    recipient: str
    subject: str
    body: str


def make_user(tenant, login="budi@example.test", role="warga", password=PASSWORD, **kw) -> User:
    """A committed, active account of ``tenant`` with an e-mail address or a number."""
    kind = "email" if "@" in login else "phone"
    with db.all_tenants() as session:
        return create_user(
            session,
            tenant_id=tenant.id if tenant is not None else None,
            name=kw.pop("name", "Budi"),
            role=role,
            password=password,
            **{kind: login},
            **kw,
        )


def get_user(user_id: int) -> User:
    with db.all_tenants() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def user_with(login: str) -> User | None:
    column = User.email if "@" in login else User.phone
    with db.all_tenants() as session:
        user = session.scalar(select(User).where(column == login))
        if user is not None:
            session.expunge(user)
        return user


def outbox(app) -> list[Sent]:
    """Every message queued so far, opened (recipient and body in clear), oldest first."""
    with db.all_tenants() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        opened = [open_message(row, app) for row in rows]
    return [Sent(m.channel, m.recipient, m.subject, m.body) for m in opened]


def last_code(app, recipient: str) -> str:
    """The code in the newest message to ``recipient``."""
    sent = [m for m in outbox(app) if m.recipient == recipient]
    assert sent, f"nothing was sent to {recipient}"
    found = CODE.search(sent[-1].body)
    assert found, sent[-1].body
    return found.group(1)


def log_in(client, login="budi@example.test", password=PASSWORD, **kwargs):
    return client.post("/masuk", data={"email": login, "password": password}, **kwargs)


def is_logged_in(client) -> bool:
    response = client.get("/api/v1/me")
    assert response.status_code in (200, 401)
    return response.status_code == 200
