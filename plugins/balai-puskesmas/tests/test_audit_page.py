"""The audit trail search: filters in the region's time zone, pages, CSV, and isolation."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from balai_puskesmas import audit_text
from balai_puskesmas.models import AuditEntry

AUDIT = "/puskesmas/kelola/audit"
# 22 November 2026, 23:30 in Jakarta (UTC+7) is still the 22nd there, the 22nd in UTC
# too; 23 November 00:30 in Jakarta is 22 November 17:30 UTC.
LATE_22 = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
EARLY_23 = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)
ACTION_CELL = re.compile(r"<code>([a-z_]+\.[a-z_]+)</code></td>")


@pytest.fixture
def trail(db_session, facility, make_facility, add_patient):
    """Entries at two puskesmas, by two officers, about one patient and none."""
    other = make_facility("PAK", clinics=())
    patient = add_patient()
    entries = [
        AuditEntry(
            at=LATE_22,
            actor="Rina Marlina <rina@kota-a.test>",
            action="patient.read",
            patient_id=patient.id,
            facility_id=facility.id,
            address="10.0.0.7",
        ),
        AuditEntry(
            at=EARLY_23,
            actor="Budi Santoso <budi@kota-a.test>",
            action="visit.create",
            patient_id=patient.id,
            facility_id=other.id,
            detail="=HYPERLINK(1)",
            address="10.0.0.8",
        ),
        AuditEntry(
            at=EARLY_23 + timedelta(hours=2),
            actor="Admin <admin@kota-a.test>",
            action="staff.assign",
            facility_id=facility.id,
            detail="user 9: viewer",
            channel="web",
        ),
        AuditEntry(
            at=EARLY_23 + timedelta(hours=3),
            actor="SMS",
            action="patient.lookup",
            channel="sms",
            address="sms:ab12",
        ),
    ]
    db_session.add_all(entries)
    db_session.commit()
    return {"patient": patient, "facility": facility, "other": other}


@pytest.fixture
def auditor(client, enabled, login):
    login(client, role="admin")
    client.get("/bahasa?lang=en")
    return client


def actions(response):
    """The action codes in the table, top to bottom."""
    return ACTION_CELL.findall(response.text)


def test_officers_without_the_permission_are_refused(client, facility, officer):
    officer(client, facility)
    assert client.get(AUDIT).status_code == 403
    assert client.get(AUDIT + ".csv").status_code == 403


def test_an_empty_trail_says_so(auditor):
    page = auditor.get(AUDIT)
    assert page.status_code == 200
    assert "The audit trail is empty" in page.text


def test_newest_first_with_every_column(auditor, trail):
    page = auditor.get(AUDIT)
    assert page.status_code == 200
    assert actions(page) == ["patient.lookup", "staff.assign", "visit.create", "patient.read"]
    assert "4 entries found." in page.text
    assert "2026-11-23 00:30:00" in page.text  # local time of EARLY_23
    assert "2026-11-22 23:30:00" in page.text
    assert "Rina Marlina &lt;rina@kota-a.test&gt;" in page.text
    assert "Puskesmas Pak" in page.text and "10.0.0.8" in page.text and "sms:ab12" in page.text
    assert "Patient data read" in page.text
    assert f'?patient={trail["patient"].id}"' in page.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date_from=2026-11-23", ["patient.lookup", "staff.assign", "visit.create"]),
        ("date_to=2026-11-22", ["patient.read"]),
        ("date_from=2026-11-22&date_to=2026-11-22", ["patient.read"]),
        ("date_from=2026-11-24", []),
        ("officer=RINA", ["patient.read"]),
        ("officer=budi@kota", ["visit.create"]),
        ("officer=100%25", []),  # a literal %, not a wildcard
        ("action=staff.assign", ["staff.assign"]),
    ],
)
def test_filters(auditor, trail, query, expected):
    page = auditor.get(f"{AUDIT}?{query}")
    assert page.status_code == 200
    assert actions(page) == expected
    if not expected:
        assert "No entry matches this search." in page.text


def test_patient_and_puskesmas_filters(auditor, trail):
    by_patient = auditor.get(f"{AUDIT}?patient={trail['patient'].id}")
    assert actions(by_patient) == ["visit.create", "patient.read"]
    by_facility = auditor.get(f"{AUDIT}?facility={trail['facility'].id}")
    assert actions(by_facility) == ["staff.assign", "patient.read"]
    both = auditor.get(f"{AUDIT}?facility={trail['other'].id}&action=patient.read")
    assert actions(both) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=22-11-2026", "date_from"),
        ("date_from=2026-11-23&date_to=2026-11-22", "date_to"),
        ("action=patient.delete", "action"),
        ("patient=abc", "patient"),
        ("patient=0", "patient"),
        ("patient=9223372036854775808", "patient"),
        ("patient=2147483648", "patient"),
        ("facility=x", "facility"),
        ("facility=99999999999999999999", "facility"),
    ],
)
def test_bad_filters_are_explained(auditor, trail, query, field):
    page = auditor.get(f"{AUDIT}?{query}")
    assert page.status_code == 400
    assert f'id="{field}-error"' in page.text
    assert actions(page) == []
    refused = auditor.get(f"{AUDIT}.csv?{query}")  # before streaming: never a cut-off file
    assert (refused.status_code, refused.mimetype) == (400, "text/plain")
    assert refused.text.startswith(f"{field}: ")


def test_pages_of_fifty(auditor, db_session, enabled):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    db_session.add_all(
        AuditEntry(at=start + timedelta(minutes=n), actor="Rina", action="patient.search")
        for n in range(60)
    )
    db_session.commit()
    first = auditor.get(AUDIT)
    assert len(actions(first)) == 50 and "Page 1 of 2" in first.text
    filtered = auditor.get(f"{AUDIT}?officer=Rina")
    assert "page=2&amp;officer=Rina" in filtered.text or "officer=Rina&amp;page=2" in filtered.text
    second = auditor.get(f"{AUDIT}?officer=Rina&page=2")
    assert len(actions(second)) == 10
    assert "2026-11-01 07:00:00" in second.text  # the oldest, last
    assert auditor.get(f"{AUDIT}?page=3").status_code == 404


def test_csv_has_the_same_entries(auditor, trail, tenant):
    response = auditor.get(f"{AUDIT}.csv?date_from=2026-11-23&officer=@kota-a")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"audit-{tenant.slug}-" in disposition
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == ["staff.assign", "visit.create"]
    assert rows[1]["at"] == "2026-11-23T00:30:00+07:00"
    assert rows[1]["facility_code"] == "PAK" and rows[1]["patient_id"] == str(trail["patient"].id)
    assert rows[1]["detail"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    everything = list(csv.DictReader(io.StringIO(auditor.get(AUDIT + ".csv").text)))
    assert len(everything) == 4


def test_reading_the_trail_is_not_audited(auditor, trail, db_session):
    auditor.get(AUDIT)
    auditor.get(AUDIT + ".csv")
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == 4


def test_other_regions_see_none_of_it(
    other_client, trail, enable_plugin, other_tenant, login, db_session
):
    enable_plugin("puskesmas", tenant=other_tenant)
    login(other_client, role="admin", tenant=other_tenant)
    page = other_client.get(AUDIT)
    assert page.status_code == 200 and actions(page) == []
    assert "rina@kota-a.test" not in page.text
    assert other_client.get(f"{AUDIT}?facility={trail['facility'].id}").status_code == 200
    assert "Puskesmas Cip" not in page.text
    lines = other_client.get(AUDIT + ".csv").text.strip().splitlines()
    assert len(lines) == 1  # the header only


def served(client, path):
    """``(status, body)`` of ``path`` as a WSGI server serves it: the app returns its
    response, the request's contexts end, and only then is the body read. (A thread
    starts with no context; the test client would keep one open while reading.)"""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            response = FlaskClient.open(client, path, base_url=f"http://{client.host}")
            outcome["status"] = response.status_code
            outcome["body"] = response.get_data(as_text=True)
        except BaseException as exc:  # a body cut off half-way: reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert "error" not in outcome, outcome["error"]
    return outcome["status"], outcome["body"]


def test_the_csv_has_every_entry_of_a_long_trail(auditor, db_session, enabled, facility):
    """More entries than one batch of the streamed export, read the way a server sends
    it: every one arrives, once, in order, each a whole CSV row."""
    count = 1234
    start = datetime(2026, 11, 1, tzinfo=UTC)
    db_session.add_all(
        AuditEntry(
            at=start + timedelta(minutes=n // 3),  # three at a time: ties across batches
            actor=f"Rina, petugas {n} <rina@kota-a.test>",
            action="patient.read",
            facility_id=facility.id,
            detail=f'line one\nline "two" {n}',
            address="10.0.0.7",
        )
        for n in range(count)
    )
    db_session.commit()
    status, text = served(auditor, AUDIT + ".csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [
        "at",
        "user_id",
        "actor",
        "action",
        "patient_id",
        "facility_code",
        "facility_name",
        "detail",
        "address",
        "channel",
    ]
    body = rows[1:]
    assert len(body) == count
    assert all(len(row) == 10 for row in body)
    assert [int(row[7].rsplit(" ", 1)[1]) for row in body] == list(range(count - 1, -1, -1))
    assert body[0][2] == f"Rina, petugas {count - 1} <rina@kota-a.test>"
    assert body[-1][7] == 'line one\nline "two" 0'
    assert text.endswith("\r\n")


#: One detail of each shape the plugin writes (see the ``detail=`` of each module).
DETAILS = [
    "visit 7: FHIR bundle built for SATUSEHAT",
    "visit 7: FHIR bundle built again to send",
    "export 3: FHIR bundle opened to send to SATUSEHAT",
    "visit 7: FHIR bundle downloaded",
    "user 9: clinician (doctor) (was viewer)",
    "user 9: registration",
    "ticket 4: the phone given with the number, to send the call by SMS",
    "given: address, phone, bpjs, account; tickets suggested: 2",
    "given: none; tickets suggested: 0",
    "changed: nik, name, birth_date, sex, address, phone, bpjs, account",
    "ticket 4; link: new; identity checked: ktp; suggestion: confirmed; nik on ticket: matches",
    "ticket 4; link: replaced; identity checked: kk; suggestion: set aside; nik on ticket: differs",
    "ticket 4; link: new; identity checked: kk; suggestion: none; nik on ticket: none",
    "by nik: found",
    "by nik: not found",
    "by name: 12 results, 10 shown",
    "suggested by the NIK given with ticket 4: identity to check",
    "ticket 4: the NIK given with the number, to register",
    "visit 7; diagnoses: 2; vitals: systolic, diastolic, heart_rate, temperature; ticket 4",
    "visit 7; diagnoses: 1; vitals: none",
    "shown: 3 of 5; facilities: 1, 2",
    "visits shown: 3 of 5; facilities: none",
    "shown: 2; facilities: 1; patients: 4, 5",
    "visit 7; shown: 1; facilities: 1",
    "visit 7; diagnoses: A09, J06.9",
]


@pytest.mark.parametrize("detail", DETAILS)
def test_every_detail_the_plugin_writes_is_translated(detail):
    def marked(message, **params):
        return "«" + (message % params if params else message) + "»"

    shown = audit_text.detail_text(detail, marked)
    for segment in shown.split("; "):
        assert segment.startswith("«"), (detail, segment)


def test_the_page_shows_details_and_channels_in_indonesian(client, enabled, login, db_session):
    login(client, role="admin")
    client.get("/bahasa?lang=id")
    db_session.add_all(
        [
            AuditEntry(
                at=LATE_22,
                actor="Loket",
                action="ticket.attach",
                detail="ticket 4; link: new; identity checked: ktp; suggestion: confirmed; "
                "nik on ticket: matches",
                channel="web",
            ),
            AuditEntry(
                at=EARLY_23, actor="Rina", action="patient.lookup", detail="by nik: not found",
                channel="api",
            ),
        ]
    )  # fmt: skip
    db_session.commit()
    page = client.get(AUDIT)
    assert page.status_code == 200
    assert (
        "nomor antrean 4; tautan: baru; identitas diperiksa dengan: kartu tanda penduduk "
        "(KTP); saran: dikonfirmasi; NIK yang diberikan bersama nomor: cocok"
    ) in page.text
    assert "menurut NIK: tidak ditemukan" in page.text
    assert "identity checked" not in page.text and "by nik" not in page.text
    assert "<td>aplikasi</td>" in page.text and "<td>web</td>" in page.text
    rows = list(csv.DictReader(io.StringIO(client.get(AUDIT + ".csv").text)))
    assert rows[1]["detail"].startswith("ticket 4; link: new")  # the file keeps the record
