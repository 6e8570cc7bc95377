"""Fault drills: the database goes away, plugins misbehave, the disk fills up.

Each drill breaks something for real and checks that Balai answers clearly, keeps
the rest working and leaves no half-written data behind:

- the database stops answering (refused, or accepting and then silent): a 503
  within seconds, in the visitor's language, JSON under ``/api/``, with
  ``Retry-After``; the same app serves again once the database is back;
- a plugin fails at import, or one of its hooks raises: the platform runs, the
  operator sees why, the other plugins keep working;
- the disk fills up during an upload: a clear error, no partial file, no row
  naming a missing file.

A worker killed in the middle of a write is drilled in ``test_fault_worker.py``.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from flask import Blueprint
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from balai import hookimpl, storage
from balai.db import db
from balai.permissions import public
from balai.plugins import plugins

PART = "fault drills"
ON_POSTGRES = bool(os.environ.get("BALAI_TEST_DATABASE_URL"))
QUICK = 5.0  # seconds: the longest a visitor may wait for the 503


# -- the database goes away ------------------------------------------------------------


class Gate:
    """A TCP gate in front of PostgreSQL: ``open``, ``refuse`` (nothing listens) or
    ``hang`` (connections are accepted and never answered, like a stuck server).

    Closing or hanging the gate cuts the connections already made, as a database
    restart or a network failure would.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.mode = "refuse"
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def open(self) -> None:
        self._set("open")

    def refuse(self) -> None:
        self._set("refuse")

    def hang(self) -> None:
        self._set("hang")

    def _set(self, mode: str) -> None:
        self._cut()
        self.mode = mode
        if mode == "refuse":
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        elif self._listener is None:
            self._listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return  # the listener was closed
            self._sockets.append(client)
            if self.mode == "open":
                server = socket.create_connection(self.upstream)
                self._sockets.append(server)
                for source, target in ((client, server), (server, client)):
                    threading.Thread(target=_pump, args=(source, target), daemon=True).start()

    def _cut(self) -> None:
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def close(self) -> None:
        self.refuse()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass


class PostgresOutage:
    """The app talks to PostgreSQL through a :class:`Gate` the drill opens and closes."""

    def __init__(self, url: str) -> None:
        real = make_url(url)
        self.gate = Gate((real.host or "127.0.0.1", real.port or 5432))
        self.url = real.set(host="127.0.0.1", port=self.gate.port).render_as_string(
            hide_password=False
        )
        self.gate.open()

    def begin(self, app) -> None:
        self.gate.refuse()

    def end(self) -> None:
        self.gate.open()

    def close(self) -> None:
        self.gate.close()


class SqliteOutage:
    """The app opens the SQLite file through a symlinked folder the drill removes.

    Open SQLite files keep working after their folder disappears, so the outage
    also closes the pool's connections, as a failing disk would break them.
    """

    def __init__(self, url: str, tmp_path: Path) -> None:
        real = Path(make_url(url).database or "")
        self.link = tmp_path / "database-folder"
        self.target = real.parent
        self.link.symlink_to(self.target)
        self.url = f"sqlite:///{self.link / real.name}"

    def begin(self, app) -> None:
        self.link.unlink()
        db.engine_for(app).dispose()

    def end(self) -> None:
        self.link.symlink_to(self.target)

    def close(self) -> None:
        if not self.link.is_symlink():
            self.end()


@pytest.fixture
def outage(balai_database_url, tmp_path):
    drill = (
        PostgresOutage(balai_database_url)
        if ON_POSTGRES
        else SqliteOutage(balai_database_url, tmp_path)
    )
    yield drill
    drill.close()


@contextmanager
def drill(figures):
    """Count a drill as run on entry and as passed when its checks all held."""
    figures.record(PART, "drills run", 1)
    yield
    figures.record(PART, "drills passed", 1)


def _tenant_client(app, tenant):
    client = app.test_client()
    client.host = tenant.domains[0]
    return client


def _timed(call, *args, **kwargs):
    started = time.perf_counter()
    response = call(*args, **kwargs)
    return response, time.perf_counter() - started


def test_database_outage_gives_a_quick_clear_503_then_recovers(
    make_app, tenant, login, outage, figures
):
    with drill(figures):
        seconds = _outage_drill(make_app, tenant, login, outage)
    figures.record(PART, "seconds to the 503 (database down)", round(seconds, 2))


def _outage_drill(make_app, tenant, login, outage) -> float:
    app = make_app(DATABASE_URL=outage.url)
    client = _tenant_client(app, tenant)
    citizen = _tenant_client(app, tenant)
    login(citizen, role="warga")
    assert client.get("/").status_code == 200
    assert citizen.get("/akun").status_code == 200

    outage.begin(app)
    page, seconds = _timed(client.get, "/")
    assert page.status_code == 503, page.text
    assert seconds < QUICK
    assert page.headers["Retry-After"] == "30"
    assert "Basis data tidak dapat dihubungi" in page.text  # Indonesian first
    client.set_cookie("balai_lang", "en", domain=client.host)
    english = client.get("/")
    assert english.status_code == 503
    assert "We could not reach the database" in english.text
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json["error"]["code"] == "service_unavailable"
    health = client.get("/-/health").json
    assert health["status"] == "error" and health["database"] == "unreachable"
    assert citizen.get("/akun").status_code == 503

    outage.end()  # the same app, no restart
    assert client.get("/").status_code == 200
    assert client.get("/-/health").status_code == 200
    assert citizen.get("/akun").status_code == 200
    return seconds


@pytest.mark.skipif(not ON_POSTGRES, reason="a stuck database server needs PostgreSQL")
def test_a_stuck_database_server_gives_a_503_within_the_connect_timeout(
    make_app, tenant, outage, figures
):
    with drill(figures):
        app = make_app(DATABASE_URL=outage.url)
        client = _tenant_client(app, tenant)
        assert client.get("/").status_code == 200
        outage.gate.hang()
        assert client.get("/").status_code == 503  # the pooled connection was cut
        page, seconds = _timed(client.get, "/")  # a new connection meets silence
        assert page.status_code == 503
        assert seconds < QUICK
        outage.end()
        assert client.get("/").status_code == 200
    figures.record(PART, "seconds to the 503 (stuck server)", round(seconds, 2))


@pytest.mark.skipif(not ON_POSTGRES, reason="a stuck database server needs PostgreSQL")
def test_without_a_connect_timeout_a_stuck_server_holds_the_request(
    make_app, tenant, outage, monkeypatch
):
    import balai.db

    monkeypatch.setattr(balai.db, "CONNECT_TIMEOUT", 0)  # libpq: wait for ever
    client = _tenant_client(make_app(DATABASE_URL=outage.url), tenant)
    outage.gate.hang()
    assert client.get("/").status_code == 503  # the pooled connection was cut
    request = threading.Thread(target=client.get, args=("/",), daemon=True)
    request.start()
    request.join(QUICK)
    held = request.is_alive()
    outage.end()  # cuts the silent connection, which ends the request
    request.join(QUICK)
    assert held


class Duplicates:
    """A plugin whose page violates a unique constraint: a bug, not an outage."""

    name = "duplicates"
    bp = Blueprint("duplicates", __name__, url_prefix="/duplicates")

    @staticmethod
    @hookimpl
    def register_routes(app):
        return Duplicates.bp


@Duplicates.bp.route("/")
@public
def _clash():
    from balai.auth.models import Department

    db.session.add_all([Department(code="X", name="a"), Department(code="X", name="b")])
    db.session.commit()
    return "unreachable"


@pytest.mark.balai_plugins.with_args(Duplicates)
@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_other_database_errors_are_server_errors_not_outages(
    client, tenant, enable_plugin, caplog, figures
):
    with drill(figures):
        enable_plugin("duplicates")
        response = client.get("/duplicates/")
        assert response.status_code == 500
        assert "Retry-After" not in response.headers
        assert any(r.exc_info and r.exc_info[0] is IntegrityError for r in caplog.records)


# -- a plugin fails at import -------------------------------------------------------------


def _install_exploding_plugin(folder: Path) -> None:
    """A distribution ``balai-kaboom`` whose plugin module raises on import."""
    package = folder / "balai_kaboom"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        'raise RuntimeError("KABOOM_API_KEY is not set")\n', encoding="utf-8"
    )
    info = folder / "balai_kaboom-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: balai-kaboom\nVersion: 1.0\nSummary: Explodes\n",
        encoding="utf-8",
    )
    (info / "entry_points.txt").write_text(
        "[balai.plugins]\nkaboom = balai_kaboom\n", encoding="utf-8"
    )


def _balai(*args: str, database: str, path: Path) -> str:
    """Run the ``balai`` command as an operator would, with ``path`` on its import path."""
    env = {
        **os.environ,
        "BALAI_DATABASE_URL": database,
        "BALAI_SECRET_KEY": "fault-drill",
        "BALAI_INSTANCE_PATH": str(path / "instance"),
        "PYTHONPATH": str(path),
    }
    command = [str(Path(sys.executable).with_name("balai")), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_plugin_that_fails_at_import_is_reported_and_left_out(
    make_app, tenant, login, monkeypatch, tmp_path, figures
):
    from balai.tenancy import TenancyError, enable_plugin, registry

    with drill(figures):
        site = tmp_path / "site"
        _install_exploding_plugin(site)
        monkeypatch.syspath_prepend(str(site))
        app = make_app()  # starts despite the plugin
        info = plugins(app).installed["kaboom"]
        assert info.broken and "KABOOM_API_KEY is not set" in info.error
        with app.app_context():
            with pytest.raises(TenancyError, match="KABOOM_API_KEY"):
                enable_plugin(app, tenant, "kaboom")
            enable_plugin(app, tenant, "pengumuman")
            assert "kaboom" not in registry(app).by_id(tenant.id).plugins
        listing = _balai("plugins", "list", database=app.config["DATABASE_URL"], path=site)
        line = next(row for row in listing.splitlines() if row.startswith("kaboom"))
        assert "KABOOM_API_KEY is not set" in line
        admin = _tenant_client(app, tenant)
        login(admin, role="admin")
        assert "KABOOM_API_KEY is not set" in admin.get("/admin/plugin").text
        assert admin.get("/").status_code == 200
        assert admin.get("/pengumuman/").status_code == 200


# -- a plugin's hooks raise -----------------------------------------------------------------


class Saboteur:
    """Every request hook and the complaint event raise."""

    name = "saboteur"

    @staticmethod
    @hookimpl
    def menu_items():
        raise RuntimeError("sabotaged menu")

    @staticmethod
    @hookimpl
    def dashboard_widgets():
        raise RuntimeError("sabotaged widgets")

    @staticmethod
    @hookimpl
    def map_layers():
        raise RuntimeError("sabotaged map")

    @staticmethod
    @hookimpl
    def search():
        raise RuntimeError("sabotaged search")

    @staticmethod
    @hookimpl
    def complaint_submitted():
        raise RuntimeError("sabotaged event")


COMPLAINT = {
    "category": "SAMPAH",
    "description": "Sampah menumpuk di depan Pasar Anyar sejak tiga hari.",
    "address": "Jl. Ki Samaun, depan Pasar Anyar",
    "privacy": "public",
    "reporter_name": "Siti Aminah",
    "reporter_email": "siti@example.test",
}


def _open_complaints(tenant_id: int) -> None:
    """The complaint service on, with the category ``COMPLAINT`` files under."""
    from balai_pengaduan.models import Category

    with db.tenant_session(tenant_id) as session:
        session.add(Category(code="SAMPAH", name="Sampah", group="", active=True, position=1))


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def _complain(client, photos: int = 2):
    form = {**COMPLAINT, "photos": [(io.BytesIO(_photo()), f"{i}.jpg") for i in range(photos)]}
    return client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")


def _complaint_rows(tenant_id: int) -> int:
    from balai_pengaduan.models import Complaint, ComplaintEvent, Photo

    with db.tenant_session(tenant_id) as session:
        return sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Complaint, ComplaintEvent, Photo)
        )


def _files(folder: Path) -> list[Path]:
    """The files stored under ``folder``, leaving out the photos a complaint form keeps
    between its tries (``pengaduan/pending``: whole files, swept after a day)."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "pending" not in p.parts)


@pytest.mark.balai_plugins.with_args(Saboteur)
@pytest.mark.balai_config(PROPAGATE_EXCEPTIONS=False)
def test_a_plugin_whose_hooks_raise_is_contained(
    app, client, tenant, enable_plugin, login, caplog, figures
):
    with drill(figures):
        for name in ("pengumuman", "pengaduan", "saboteur"):
            enable_plugin(name)
        _open_complaints(tenant.id)
        login(client, role="admin")
        home = client.get("/")
        assert home.status_code == 200 and "/pengumuman/" in home.text
        dashboard = client.get("/dasbor")
        assert dashboard.status_code == 200 and "/pengaduan/" in dashboard.text
        assert client.get("/peta").status_code == 200
        assert "/pengaduan/" in client.get("/peta").text
        assert client.get("/cari", query_string={"q": "sampah"}).status_code == 200
        for hook in ("menu", "widgets", "map", "search"):
            assert f"sabotaged {hook}" in caplog.text

        # An event runs inside the transaction it announces: raising refuses it whole.
        refused = _complain(client)
        assert refused.status_code == 500 and "Basis data" not in refused.text
        half_written = _complaint_rows(tenant.id)
        left = [e.key for e in storage.store(app).list("tenants/") if "/pending/" not in e.key]
        figures.record(PART, "partial rows found", half_written)
        figures.record(PART, "partial files found", len(left))
        assert half_written == 0 and left == []


# -- the disk fills up during an upload -------------------------------------------------------


class SmallDisk:
    """A real, tiny filesystem (tmpfs) for the instance folder, grown when the drill ends."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mount(self, size: str) -> bool:
        self.path.mkdir(exist_ok=True)
        return _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path))

    def grow(self, size: str) -> None:
        assert _run("mount", "-o", f"remount,size={size}", str(self.path))

    def files(self) -> list[Path]:
        """Every file on the small disk, kept form photos included."""
        return sorted(p for p in self.path.rglob("*") if p.is_file())

    def unmount(self) -> None:
        _run("umount", str(self.path))


def _run(*command: str) -> bool:
    done = subprocess.run(command, capture_output=True, check=False)  # noqa: S603
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root on Linux")
    disk = SmallDisk(tmp_path / "disk")
    if not disk.mount("64k"):
        pytest.skip("this machine refuses to mount a tmpfs")
    yield disk
    disk.unmount()


def _noise(size: int, fmt: str) -> bytes:
    """An image that compresses badly: larger than the small disk."""
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(out, format=fmt)
    return out.getvalue()


def _complaints_on(make_app, tenant, login, instance: Path):
    """An app keeping its files in ``instance`` (whatever ``BALAI_TEST_STORAGE`` says),
    complaints on, and an admin's client."""
    from balai.tenancy import enable_plugin

    app = make_app(INSTANCE_PATH=str(instance), STORAGE_URL=None)
    with app.app_context():
        enable_plugin(app, tenant, "pengaduan")
    _open_complaints(tenant.id)
    admin = _tenant_client(app, tenant)
    login(admin, role="admin")
    return app, admin


def test_a_full_disk_during_an_upload_leaves_nothing_half_written(
    make_app, tenant, login, small_disk, figures
):
    from balai.tenancy import registry

    with drill(figures):
        app, admin = _complaints_on(make_app, tenant, login, small_disk.path)
        photo = _noise(400, "JPEG")
        form = {**COMPLAINT, "photos": [(io.BytesIO(photo), "jalan.jpg")]}
        full = admin.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")
        assert full.status_code == 507
        assert "tidak punya ruang tersisa untuk menyimpan foto" in full.text
        assert "Sampah menumpuk" in full.text  # the form is kept for another try
        half_written = _complaint_rows(tenant.id)
        figures.record(PART, "partial rows found", half_written)
        assert half_written == 0

        logo = {
            "name": "Kota A",
            "theme": "default",
            "logo": (io.BytesIO(_noise(300, "PNG")), "l.png"),
        }
        refused = admin.post("/admin/tampilan", data=logo, content_type="multipart/form-data")
        assert refused.status_code == 507
        assert "tidak punya ruang tersisa untuk menyimpan logo" in refused.text
        assert registry(app).by_id(tenant.id).logo is None
        partial = small_disk.files()
        figures.record(PART, "partial files found", len(partial))
        assert partial == []

        small_disk.grow("8m")  # the operator frees space: the same uploads now succeed
        form = {**COMPLAINT, "photos": [(io.BytesIO(photo), "jalan.jpg")]}
        assert admin.post("/pengaduan/lapor", data=form).status_code == 302
        logo["logo"] = (io.BytesIO(_noise(300, "PNG")), "l.png")
        assert admin.post("/admin/tampilan", data=logo).status_code == 302
        stored = {p.name: p.stat().st_size for p in small_disk.files()}
        assert registry(app).by_id(tenant.id).logo in stored
        assert _photo_rows_match(tenant.id, stored)


def _photo_rows_match(tenant_id: int, stored: dict[str, int]) -> bool:
    """Every photo row names a whole file on the disk."""
    from balai_pengaduan.models import Photo

    with db.tenant_session(tenant_id) as session:
        rows = session.scalars(select(Photo)).all()
    return bool(rows) and all(stored.get(row.filename) == row.size for row in rows)


def test_without_its_clean_up_a_full_disk_leaves_a_partial_photo(
    make_app, tenant, login, small_disk, monkeypatch
):
    from balai.storage import local

    class KeptPath(type(Path())):
        def unlink(self, missing_ok: bool = False) -> None:
            """Forget to clean up."""

    monkeypatch.setattr(local, "Path", KeptPath)
    _app, admin = _complaints_on(make_app, tenant, login, small_disk.path)
    photo = _noise(400, "JPEG")
    form = {**COMPLAINT, "photos": [(io.BytesIO(photo), "jalan.jpg")]}
    assert admin.post("/pengaduan/lapor", data=form).status_code == 507
    [partial] = small_disk.files()
    assert 0 < partial.stat().st_size < len(photo)
