"""The demo's mailbox ``/-/kotak-surat``: what each region's outbox sent, in the demo only."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from balai.channels import Message, deliver_pending, queue
from balai.db import db
from balai.devmail import PAGE_SIZE, NotADemoError
from balai.tenancy import TenantInfo
from balai.testing import travel

MAILBOX = "/-/kotak-surat"


def _demo_folder(path: Path) -> Path:
    path.mkdir()
    (path / "demo.json").write_text(json.dumps({"status": "ready"}))
    return path


@pytest.fixture
def app(make_app: Callable[..., Flask], tmp_path: Path) -> Iterator[Flask]:
    """An app as ``balai demo`` serves it: in a demo folder, with the mailbox on."""
    application = make_app(
        INSTANCE_PATH=str(_demo_folder(tmp_path / "balai-demo")),
        DEMO_MAILBOX=True,
        OUTBOX_DELIVER_INLINE=True,
    )
    with application.app_context():
        yield application


def _send(app: Flask, tenant: TenantInfo, *messages: Message) -> None:
    with db.tenant_session(tenant.id) as session:
        for message in messages:
            queue(session, message, source="pengaduan")
    deliver_pending(app)


@pytest.mark.clock
def test_each_region_sees_its_own_messages_newest_first_in_clear(
    app, tenant, other_tenant, client, other_client
):
    with travel("2026-03-04T09:00:00+07:00"):
        _send(app, tenant, Message("email", "siti@contoh.id", "Kode verifikasi: 482913", "Kode"))
    with travel("2026-03-04T09:05:00+07:00"):
        _send(
            app,
            tenant,
            Message("sms", "+6281234567890", "Nomor antrean A-007 di Puskesmas.", sensitive=True),
        )
        _send(app, other_tenant, Message("sms", "+6285799990000", "Pesan Kota B."))

    page = client.get(MAILBOX)

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    # In clear, as a tester needs them: recipients, the code, even a health message.
    assert "siti@contoh.id" in text and "482913" in text
    assert "+6281234567890" in text and "A-007" in text
    assert text.index("A-007") < text.index("482913")  # newest first
    assert "Pesan Kota B." not in text and "+6285799990000" not in text
    theirs = other_client.get(MAILBOX).get_data(as_text=True)
    assert "Pesan Kota B." in theirs and "482913" not in theirs


def test_the_mailbox_is_paged_and_says_when_it_is_empty(app, tenant, client):
    empty = client.get(MAILBOX).get_data(as_text=True)
    assert "Belum ada pesan" in empty  # Indonesian first
    for n in range(PAGE_SIZE + 3):
        with travel(f"2026-03-04T09:{n:02d}:00+07:00"):
            _send(app, tenant, Message("sms", "+6281234567890", f"Pesan nomor {n:02d}."))

    first = client.get(MAILBOX).get_data(as_text=True)
    second = client.get(f"{MAILBOX}?page=2").get_data(as_text=True)

    assert first.count("Pesan nomor") == PAGE_SIZE and f"Pesan nomor {PAGE_SIZE + 2:02d}" in first
    assert second.count("Pesan nomor") == 3 and "Pesan nomor 00." in second
    assert client.get(f"{MAILBOX}?page=99").status_code == 200


def test_without_the_demo_setting_there_is_no_mailbox(make_app, tenant):
    plain = make_app()  # the same database and region, as a production app
    response = plain.test_client().get(MAILBOX, base_url="http://kota-a.test")
    assert response.status_code == 404


def test_the_setting_is_refused_outside_a_demo_folder(make_app, tmp_path):
    ordinary = tmp_path / "instance-produksi"
    ordinary.mkdir()
    with pytest.raises(NotADemoError, match="not a demo made by 'balai demo'"):
        make_app(INSTANCE_PATH=str(ordinary), DEMO_MAILBOX=True)
