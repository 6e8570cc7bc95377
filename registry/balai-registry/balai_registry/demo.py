"""Sample data for ``balai demo``: a partner region, one published plugin, the partner's
evaluation of it (answered), its usage report and an endorsement.

The plugin's wheel is written here, in memory, so the demo's index has a file pip can
install; its report says the checks were not run (it is sample data).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import balai
from balai import storage
from balai.auth import User
from balai.db import utcnow
from balai_registry import feedback, services, usage

__all__ = ["SAMPLE", "add_sample_registry", "sample_wheel"]

SAMPLE = ("balai-kebun-warga", "0.1.0")
PACKAGE = "balai_kebun_warga"
METADATA = f"""\
Metadata-Version: 2.4
Name: {SAMPLE[0]}
Version: {SAMPLE[1]}
Summary: Kebun warga: pendaftaran lahan kebun kota dan jadwal panen
License-Expression: Apache-2.0
Requires-Python: >=3.11
Requires-Dist: balai<0.2,>=0.1
Description-Content-Type: text/markdown

# Kebun Warga

Warga mendaftarkan lahan kosong di kelurahan sebagai **kebun kota**; petugas DKP
menyetujui dan mencatat jadwal panen.
"""


PLUGIN = "from balai import Manifest\n\nmanifest = Manifest(title='Kebun Warga')\n"
WHEEL = "Wheel-Version: 1.0\nGenerator: balai-demo\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def sample_wheel() -> tuple[str, bytes]:
    """The sample plugin as a wheel: its filename and bytes (always the same bytes)."""
    version = SAMPLE[1]
    info = f"{PACKAGE}-{version}.dist-info"
    files = {
        f"{PACKAGE}/__init__.py": '"""Kebun warga (sample)."""\n',
        f"{PACKAGE}/plugin.py": PLUGIN,
        f"{info}/METADATA": METADATA,
        f"{info}/WHEEL": WHEEL,
        f"{info}/entry_points.txt": f"[balai.plugins]\nkebun_warga = {PACKAGE}.plugin\n",
    }
    record = [
        f"{path},sha256={_digest(text.encode())},{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, text in files.items():
            entry = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
            wheel.writestr(entry, text)
    return f"{PACKAGE}-{version}-py3-none-any.whl", out.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def add_sample_registry(session: Session, tenant_id: int) -> None:
    """A partner region (Kabupaten Lebak) and its published sample plugin."""
    partner, _token = services.issue_partner(
        session,
        "Kabupaten Lebak",
        "diskominfo@kabupaten-lebak.example",
        ["upload", "feedback", "report"],
        None,
    )
    filename, data = sample_wheel()
    upload = services.Upload(
        "file_upload",
        SAMPLE[0],
        SAMPLE[1],
        "bdist_wheel",
        hashlib.sha256(data).hexdigest(),
        filename,
        data,
    )
    submission, _metadata = services.accept_upload(session, partner, upload)
    storage.for_tenant(tenant_id).within("registry").put(
        services.file_key(submission.sha256, filename), data
    )
    report = {
        "passed": True,
        "checks": [
            {
                "name": "metadata",
                "status": "skipped",
                "summary": "Sample data of the demo: not checked",
                "output": "",
            }
        ],
        "inspection": {
            "hooks": ["register_routes", "register_permissions", "menu_items"],
            "permissions": ["kebun_warga.approve_plot"],
            "settings": [],
            "migrations": ["kebun_warga_0001"],
            "languages": {"id": 100, "en": 100},
        },
    }
    now = utcnow()
    services.record_check(submission, report, now)
    services.decide(submission, True, "Contoh untuk demo.", None, now)
    session.flush()
    _add_feedback(session, partner, now)


def _add_feedback(session: Session, partner: services.Partner, now: datetime) -> None:
    """What Kabupaten Lebak sent back about the sample plugin, and the answer."""
    evaluation = feedback.submit_evaluation(
        session,
        partner,
        feedback.Draft(
            plugin=SAMPLE[0],
            version=SAMPLE[1],
            severity="medium",
            title="Peta kebun belum bisa memilih titik dari ponsel",
            body=(
                "Petugas kami di lapangan mendaftarkan kebun dari ponsel. Formulirnya meminta "
                "koordinat yang diketik; mohon tambahkan peta untuk memilih titik, dengan "
                "tombol 'gunakan lokasi saya'."
            ),
        ),
        now - timedelta(days=3),
    )
    admin = session.scalars(select(User).where(User.role == "admin").order_by(User.id)).first()
    if admin is not None:  # the region's admin answers, as a maintainer
        feedback.reply(
            session,
            evaluation,
            "Terima kasih. Peta pemilih titik kami jadwalkan untuk versi 0.2.",
            now - timedelta(days=1),
            maintainer=(admin.id, admin.name),
            status="planned",
        )
    usage.record_report(
        session,
        partner,
        usage.Report(
            instance="demo-kabupaten-lebak",
            region="Kabupaten Lebak",
            core_version=balai.__version__,
            plugins=[SAMPLE],
        ),
        now - timedelta(hours=6),
    )
    feedback.endorse(
        session,
        SAMPLE[0],
        SAMPLE[1],
        "Dipakai di tiga kecamatan sejak bulan lalu.",
        now - timedelta(hours=5),
        partner=partner,
    )
    session.flush()
