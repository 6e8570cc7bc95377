"""Start-up time of the yardstick's worker: a hand-written Flask + SQLAlchemy app.

    .venv/bin/python bench/bare_startup.py DATABASE_URL

What ``startup_time.py`` measures for Balai, for the app of ``bare_app.py`` written
without Balai: import Flask, flask-login and SQLAlchemy's ORM, declare the four tables
it reads (tenant domains, users, API tokens, announcements) and build the app with its
engine and routes. It imports nothing of Balai's, so that the difference is what Balai
and its plugins add. Prints ``{"imports": s, "create_app": s, "cpu": s}`` as JSON.
"""

from __future__ import annotations

import time

started = time.perf_counter()

import json  # noqa: E402 - the imports are part of what is timed
import sys  # noqa: E402
from datetime import datetime  # noqa: E402

from flask import Flask, abort, jsonify  # noqa: E402
from flask_login import LoginManager, login_required  # noqa: E402
from sqlalchemy import ForeignKey, String, Text, create_engine, select  # noqa: E402
from sqlalchemy.orm import (  # noqa: E402
    DeclarativeBase,
    Mapped,
    mapped_column,
    sessionmaker,
)


def build(url: str) -> Flask:
    """Declare the tables and build the app: what a worker does before its first request."""

    class Base(DeclarativeBase):
        pass

    class Domain(Base):
        __tablename__ = "bare_domain"
        host: Mapped[str] = mapped_column(String(255), primary_key=True)
        tenant_id: Mapped[int]

    class User(Base):
        __tablename__ = "bare_user"
        id: Mapped[int] = mapped_column(primary_key=True)
        tenant_id: Mapped[int] = mapped_column(index=True)
        email: Mapped[str] = mapped_column(String(255))
        name: Mapped[str] = mapped_column(String(200))
        active: Mapped[bool] = mapped_column(default=True)

    class ApiToken(Base):
        __tablename__ = "bare_api_token"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("bare_user.id"))
        digest: Mapped[str] = mapped_column(String(64), unique=True)
        expires_at: Mapped[datetime | None]

    class Announcement(Base):
        __tablename__ = "bare_announcement"
        id: Mapped[int] = mapped_column(primary_key=True)
        tenant_id: Mapped[int] = mapped_column(index=True)
        title: Mapped[str] = mapped_column(String(200))
        body: Mapped[str] = mapped_column(Text)
        published_at: Mapped[datetime | None]
        expires_at: Mapped[datetime | None]

    app = Flask("bare")
    app.config["SECRET_KEY"] = "bare-secret"  # noqa: S105 - a throw-away app
    factory = sessionmaker(create_engine(url, pool_size=10, max_overflow=10))
    login = LoginManager(app)
    login.request_loader(lambda request: None)

    @app.get("/api/v1/pengumuman/<int:announcement_id>")
    @login_required
    def announcement(announcement_id: int) -> object:
        with factory() as session:
            found = session.get(Announcement, announcement_id)
            if found is None:
                abort(404)
            return jsonify({"id": found.id, "title": found.title})

    @app.get("/api/v1/pengumuman/")
    @login_required
    def announcements() -> object:
        with factory() as session:
            rows = session.scalars(select(Announcement).limit(20)).all()
            return jsonify([{"id": row.id, "title": row.title} for row in rows])

    return app


def main() -> None:
    imported = time.perf_counter()
    build(sys.argv[1])
    built = time.perf_counter()
    print(
        json.dumps(
            {
                "imports": imported - started,
                "create_app": built - imported,
                "cpu": time.process_time(),
            }
        )
    )


if __name__ == "__main__":
    main()
