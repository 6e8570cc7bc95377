"""The yardstick: the announcement API written by hand in plain Flask.

Flask, flask-login and SQLAlchemy, nothing else: the tenant comes from the
``Host`` (a dictionary loaded at start-up, as Balai keeps its tenants in
memory), the user from an ``Authorization: Bearer`` token looked up with the
same query Balai makes, and the two reads are Balai's own queries with the
tenant filter written out: one announcement by id, and a page of current ones
with the number on all pages. No tenant filter machinery, no row-level
security, no permissions, plugins, schemas or translations.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, g, jsonify, request
from flask_login import LoginManager, login_required
from sqlalchemy import create_engine, func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Request, Response

from balai.auth.models import ApiToken, Department, User, hash_token
from balai.tenancy import Domain
from balai_pengumuman.models import Announcement


def create_bare_app(url: str) -> Flask:
    """The hand-written app on the database at ``url`` (rows of every tenant visible)."""
    app = Flask("bare")
    app.config["SECRET_KEY"] = "bare-secret"  # noqa: S105 - a throw-away app
    engine = create_engine(url, pool_size=10, max_overflow=10)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        tenants = dict(session.execute(select(Domain.host, Domain.tenant_id)).tuples().all())

    def db() -> Session:
        if "session" not in g:
            g.session = factory()
        return g.session

    @app.teardown_appcontext
    def close_session(exc: BaseException | None) -> None:
        session = g.pop("session", None)
        if session is not None:
            session.close()

    @app.before_request
    def find_tenant() -> None:
        g.tenant_id = tenants.get(request.host.split(":")[0].lower())
        if g.tenant_id is None:
            abort(404)

    login = LoginManager(app)

    @login.request_loader
    def user_from_token(req: Request) -> User | None:
        scheme, _sep, secret = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        row = (
            db()
            .execute(
                select(ApiToken, User)
                .join(User, ApiToken.user_id == User.id)
                .where(
                    ApiToken.token_hash == hash_token(secret.strip()),
                    ApiToken.tenant_id == g.tenant_id,
                    ApiToken.revoked_at.is_(None),
                )
            )
            .first()
        )
        return row.User if row is not None and row.User.active else None

    @app.get("/api/v1/pengumuman/<int:announcement_id>")
    @login_required
    def one(announcement_id: int) -> Response:
        found = db().scalar(
            select(Announcement).where(
                Announcement.id == announcement_id, Announcement.tenant_id == g.tenant_id
            )
        )
        if found is None or found.status == "scheduled":
            abort(404)
        return jsonify(as_json(found))

    @app.get("/api/v1/pengumuman/")
    @login_required
    def page() -> Response:
        number = request.args.get("page", 1, type=int)
        per_page = min(request.args.get("per_page", 20, type=int), 100)
        now = datetime.now(UTC)
        query = (
            select(Announcement)
            .where(
                Announcement.tenant_id == g.tenant_id,
                Announcement.published_at <= now,
                or_(Announcement.expires_at.is_(None), Announcement.expires_at > now),
            )
            .order_by(Announcement.published_at.desc(), Announcement.id.desc())
        )
        total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        rows = db().scalars(query.limit(per_page).offset((number - 1) * per_page)).all()
        return jsonify(
            items=[as_json(row) for row in rows],
            page=number,
            per_page=per_page,
            total=total,
            pages=math.ceil(total / per_page),
        )

    return app


def as_json(announcement: Announcement) -> dict[str, Any]:
    return {
        "id": announcement.id,
        "title": announcement.title,
        "body": announcement.body,
        "category": announcement.category,
        "department": _department(announcement.department),
        "published_at": announcement.published_at.isoformat(),
        "expires_at": announcement.expires_at and announcement.expires_at.isoformat(),
        "status": announcement.status,
        "created_at": announcement.created_at.isoformat(),
        "updated_at": announcement.updated_at.isoformat(),
    }


def _department(department: Department | None) -> dict[str, Any] | None:
    if department is None:
        return None
    return {"id": department.id, "code": department.code, "name": department.name}
