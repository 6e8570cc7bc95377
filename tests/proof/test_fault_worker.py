"""Fault drill: a worker killed in the middle of a write leaves nothing half-written.

A separate process files a complaint with two photos through the real form; inside
its transaction, after the complaint, its timeline entry, its photos and its
notifications were flushed, it stops and the drill kills it with ``SIGKILL``. The
database must hold none of those rows, no file may be left in the region's photo
folder, and the next complaint must go through.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap

from PIL import Image
from sqlalchemy import func, select

from balai import storage
from balai.channels import OutboxMessage
from balai.db import db
from balai_pengaduan.commands import group

PART = "fault drills"
STALLED = "stalled inside the transaction"

WORKER = textwrap.dedent(
    f"""
    import io, json, sys, time

    from PIL import Image

    from balai.testing import make_test_app
    from balai_pengaduan import runtime

    database, instance, host, files = sys.argv[1:5]
    announce = runtime.announce_submitted

    def announce_then_stall(complaint):
        announce(complaint)  # the notifications are queued in the same transaction
        print({STALLED!r}, flush=True)
        time.sleep(600)

    runtime.announce_submitted = announce_then_stall

    def photo():
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 120, 40)).save(out, format="JPEG")
        return io.BytesIO(out.getvalue())

    app = make_test_app(
        {{"DATABASE_URL": database, "INSTANCE_PATH": instance, **json.loads(files)}}
    )
    form = {{
        "category": "SAMPAH",
        "description": "Sampah menumpuk di depan Pasar Anyar sejak tiga hari.",
        "address": "Jl. Ki Samaun, depan Pasar Anyar",
        "privacy": "public",
        "reporter_name": "Siti Aminah",
        "reporter_email": "siti@example.test",
        "photos": [(photo(), "a.jpg"), (photo(), "b.jpg")],
    }}
    app.test_client().post("/pengaduan/lapor", data=form, base_url=f"http://{{host}}")
    print("finished without being killed", flush=True)
    """
)


def _start_worker(app, tenant, database_url: str) -> subprocess.Popen[str]:
    files = json.dumps({k: app.config[k] for k in ("STORAGE_URL", "S3_ENDPOINT_URL")})
    command = [
        sys.executable, "-c", WORKER, database_url, app.instance_path, tenant.domains[0], files
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603


def _kill_when_stalled(worker: subprocess.Popen[str]) -> None:
    assert worker.stdout is not None
    with worker.stdout:
        line = worker.stdout.readline().strip()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert line == STALLED, f"the worker did not reach the transaction: {line!r}"
    assert worker.returncode == -signal.SIGKILL


def _rows(tenant_id: int) -> dict[str, int]:
    from balai_pengaduan.models import Complaint, ComplaintEvent, Photo

    models = {"complaints": Complaint, "events": ComplaintEvent, "photos": Photo}
    with db.tenant_session(tenant_id) as session:
        counts = {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in models.items()
        }
    with db.all_tenants() as session:
        counts["outbox"] = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant_id)
            )
            or 0
        )
    return counts


def _files(app) -> list[str]:
    """The names of the files stored (in whichever store the app uses), leaving out the
    photos a complaint form keeps between its tries (``pengaduan/pending``: whole
    files, swept after a day)."""
    keys = [entry.key for entry in storage.store(app).list("tenants/")]
    return sorted(key.rsplit("/", 1)[1] for key in keys if "/pending/" not in key)


def test_a_worker_killed_mid_transaction_leaves_no_partial_rows_or_files(
    app, client, tenant, enable_plugin, balai_database_url, figures
):
    from balai_pengaduan.models import Category

    figures.record(PART, "drills run", 1)
    enable_plugin("pengaduan")
    with db.tenant_session(tenant.id) as session:
        session.add(Category(code="SAMPAH", name="Sampah", group="", active=True, position=1))
    before = _rows(tenant.id)
    _kill_when_stalled(_start_worker(app, tenant, balai_database_url))

    after = _rows(tenant.id)
    partial_rows = sum(after.values()) - sum(before.values())
    figures.record(PART, "partial rows found", partial_rows)
    assert after == before

    # The app keeps working: the next complaint, with a photo, goes through.
    assert _complain(client).status_code == 302
    assert _rows(tenant.id)["complaints"] == before["complaints"] + 1

    # The killed worker's photos were written but never committed: stray files,
    # which the cron sweep deletes while keeping every file a complaint names.
    stray = len(_files(app)) - 1
    swept = app.test_cli_runner().invoke(group, ["sweep-photos", "--older-than", "0"])
    assert swept.exit_code == 0, swept.output
    kept = _files(app)
    figures.record(PART, "stray files after the kill", stray)
    figures.record(PART, "partial files found", len(kept) - 1)
    assert stray == 2 and kept == _photo_names(tenant.id)
    figures.record(PART, "drills passed", 1)


def _complain(client):
    form = {
        "category": "SAMPAH",
        "description": "Lampu jalan mati sejak kemarin malam.",
        "address": "Jl. Merdeka 1",
        "privacy": "public",
        "reporter_name": "Budi",
        "photos": [(io.BytesIO(_jpeg()), "lampu.jpg")],
    }
    return client.post("/pengaduan/lapor", data=form, content_type="multipart/form-data")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _photo_names(tenant_id: int) -> list[str]:
    from balai_pengaduan.models import Photo

    with db.tenant_session(tenant_id) as session:
        return sorted(session.scalars(select(Photo.filename)).all())
