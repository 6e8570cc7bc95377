"""Business rules with fixed dates: working-day deadlines, routing, workflow, duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from balai.calendar import Holiday, calendar_for
from balai_pengaduan import services
from balai_pengaduan.models import AreaRoute, Complaint, ComplaintEvent
from balai_pengaduan.settings import ComplaintSettings

FRIDAY_MORNING = datetime(2025, 2, 7, 3, tzinfo=UTC)  # Fri 7 Feb 2025, 10.00 WIB


def ctx_for(session, now, **settings):
    """The tenant's real calendar (national holidays plus its own) at ``now``."""
    values = {**ComplaintSettings().load({}), **settings}
    return services.Context(values, calendar_for(session, {2025}), now, "Asia/Jakarta")


def submit(session, ctx, code="SAMPAH", **fields):
    values = {"description": "Sampah menumpuk.", "address": "Jl. Merdeka 1", **fields}
    found = services.submit(session, services.Submission(category_code=code, **values), ctx)
    session.commit()
    return found


def test_forwarding_deadline_skips_the_weekend(db_session, sampah):
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING))
    assert found.forward_due == date(2025, 2, 12)  # Mon, Tue, Wed


def test_forwarding_deadline_skips_the_regions_holiday(db_session, sampah):
    db_session.add(Holiday(day=date(2025, 2, 11), name="Hari jadi kota"))
    db_session.commit()
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING))
    assert found.forward_due == date(2025, 2, 13)


def test_deadline_counts_from_the_regions_local_day(db_session, sampah):
    thursday_night_utc = datetime(2025, 2, 6, 18, tzinfo=UTC)  # already Friday 01.00 WIB
    found = submit(db_session, ctx_for(db_session, thursday_night_utc))
    assert found.forward_due == date(2025, 2, 12)


def test_a_national_holiday_counts_as_a_day_off(db_session, sampah):
    # Thu 27 Mar 2025 10.00 WIB; Nyepi is Sat 29 Mar and Idul Fitri leave starts Mon 31 Mar.
    found = submit(db_session, ctx_for(db_session, datetime(2025, 3, 27, 3, tzinfo=UTC)))
    assert found.forward_due > date(2025, 4, 1)


def test_follow_up_deadline_counts_from_forwarding(db_session, sampah):
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING))
    forwarded_on = ctx_for(db_session, datetime(2025, 2, 12, 3, tzinfo=UTC))
    for target in ("verified", "forwarded"):
        services.transition(db_session, found, target, forwarded_on, actor_id=None, actor_label="x")
    assert found.followup_due == date(2025, 2, 19)
    assert not services.is_overdue(found, date(2025, 2, 19))
    assert services.is_overdue(found, date(2025, 2, 20))


def test_overdue_in_sql_matches_overdue_in_memory(db_session, sampah):
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING))
    on_time = db_session.scalars(services.filtered(services.Filters(overdue_on=date(2025, 2, 12))))
    assert list(on_time) == [] and not services.is_overdue(found, date(2025, 2, 12))
    late = services.Filters(overdue_on=date(2025, 2, 13))
    assert list(db_session.scalars(services.filtered(late))) == [found]
    assert services.take_newly_overdue(db_session, date(2025, 2, 13)) == [found]
    assert services.take_newly_overdue(db_session, date(2025, 2, 13)) == []


def test_routing_prefers_the_areas_route(db_session, sampah, area, pupr, inside):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    outside = submit(db_session, ctx, latitude=-6.3, longitude=106.5)
    assert (outside.area_id, outside.department_id) == (None, sampah.department_id)
    db_session.add(AreaRoute(category_id=sampah.id, area_id=area.id, department_id=pupr.id))
    db_session.commit()
    within = submit(db_session, ctx, latitude=inside[0], longitude=inside[1])
    assert (within.area_id, within.department_id) == (area.id, pupr.id)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"description": "  "}, "description"),
        ({"description": "x" * 5001}, "description"),
        ({"privacy": "rahasia"}, "privacy"),
        ({"latitude": -91.0, "longitude": 0.0}, "latitude"),
        ({"latitude": -6.1}, "latitude"),
        ({"address": ""}, "address"),
    ],
)
def test_bad_submissions_are_refused(db_session, sampah, stored, fields, field):
    with pytest.raises(services.ComplaintError) as refused:
        submit(db_session, ctx_for(db_session, FRIDAY_MORNING), **fields)
    assert refused.value.field == field
    assert stored() == []


def test_an_sms_needs_no_separate_address(db_session, sampah):
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING), address="", channel="sms")
    assert found.address == ""


def test_unknown_and_inactive_categories_are_refused(db_session, category):
    category("LAMA", active=False)
    for code in ("GOSIP", "LAMA"):
        with pytest.raises(services.ComplaintError) as refused:
            submit(db_session, ctx_for(db_session, FRIDAY_MORNING), code=code)
        assert refused.value.field == "category"


def test_anonymous_keeps_no_identity(db_session, sampah):
    found = submit(
        db_session,
        ctx_for(db_session, FRIDAY_MORNING),
        privacy="anonymous",
        reporter_id=None,
        reporter_name="Siti",
        reporter_email="siti@example.test",
        reporter_phone="0812",
    )
    sealed = (found.reporter_email_sealed, found.reporter_phone_sealed)
    assert (found.reporter_name, *sealed) == (None, None, None)


def test_workflow_refuses_skipping_steps(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    with pytest.raises(services.ComplaintError):
        services.transition(db_session, found, "resolved", ctx, actor_id=None, actor_label="x")
    with pytest.raises(services.ComplaintError):
        services.transition(db_session, found, "lenyap", ctx, actor_id=None, actor_label="x")
    assert found.status == "received"


def test_reopen_window(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    for target in ("verified", "forwarded", "in_progress", "resolved"):
        services.transition(
            db_session, found, target, ctx, actor_id=None, actor_label="x", note="Beres."
        )
    late = ctx_for(db_session, datetime(2025, 2, 22, 3, tzinfo=UTC))
    with pytest.raises(services.ComplaintError):
        services.reopen(db_session, found, late, note="Belum beres.")
    soon = ctx_for(db_session, datetime(2025, 2, 20, 3, tzinfo=UTC))
    event = services.reopen(db_session, found, soon, note="Belum beres.")
    assert (event.from_status, event.to_status, found.status) == (
        "resolved",
        "in_progress",
        "in_progress",
    )


def test_nearby_open_finds_same_category_within_the_radius(db_session, sampah, jalan, inside):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    lat, lon = inside
    near = submit(db_session, ctx, latitude=lat + 0.001, longitude=lon)  # ~110 m
    submit(db_session, ctx, latitude=lat + 0.01, longitude=lon)  # ~1.1 km
    submit(db_session, ctx, code="JALAN", latitude=lat, longitude=lon)
    found = services.nearby_open(db_session, sampah.id, lat, lon, ctx)
    assert [c.id for c, _m in found] == [near.id]
    assert 100 < found[0][1] < 120
    services.transition(
        db_session, near, "rejected", ctx, actor_id=None, actor_label="x", note="Spam"
    )
    assert services.nearby_open(db_session, sampah.id, lat, lon, ctx) == []


def test_support_counts_once(db_session, sampah):
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING))
    assert services.support(db_session, found, "user:1") is True
    assert services.support(db_session, found, "user:1") is False
    assert found.supporters == 1


def test_merge_adds_the_duplicates_supporters(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    original, repeat = submit(db_session, ctx), submit(db_session, ctx)
    services.support(db_session, repeat, "user:7")
    services.transition(
        db_session, repeat, "duplicate", ctx, actor_id=None, actor_label="x", duplicate_of=original
    )
    assert (repeat.duplicate_of_id, original.supporters) == (original.id, 2)
    with pytest.raises(services.ComplaintError):
        services.transition(
            db_session,
            submit(db_session, ctx),
            "duplicate",
            ctx,
            actor_id=None,
            actor_label="x",
            duplicate_of=repeat,
        )


def test_tracking_codes_are_unguessable():
    codes = {services.new_tracking_code() for _n in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 15 and c.startswith("ADU-") for c in codes)
    assert not any(ch in "".join(codes) for ch in "01OIL")


# -- pages of a list --------------------------------------------------------------------


def test_pages_follow_the_lists_order_and_count_every_match(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    made = [submit(db_session, ctx) for _ in range(3)]  # same instant: the id decides
    later = ctx_for(db_session, FRIDAY_MORNING + timedelta(hours=1))
    made += [submit(db_session, later) for _ in range(3)]
    services.transition(
        db_session, made[4], "rejected", later, actor_id=None, actor_label="a", note="Spam"
    )
    db_session.commit()
    statement = services.filtered(services.Filters(), select(Complaint))
    expected = list(db_session.scalars(statement))
    assert expected[:3] == [made[5], made[4], made[3]]
    pages = [services.paginate(db_session, statement, n, 4) for n in (1, 2, 3)]
    assert [p["items"] for p in pages] == [expected[:4], expected[4:], []]
    assert [(p["page"], p["per_page"], p["total"], p["pages"]) for p in pages] == [
        (1, 4, 6, 2),
        (2, 4, 6, 2),
        (3, 4, 6, 2),
    ]
    shown = services.filtered(
        services.Filters(), select(Complaint).where(Complaint.status != "rejected")
    )
    page = services.paginate(db_session, shown, 1, 20)
    assert page["items"] == [c for c in expected if c is not made[4]] and page["total"] == 5


def test_an_empty_list_has_no_pages(db_session, sampah):
    statement = services.filtered(services.Filters(statuses=("closed",)), select(Complaint))
    page = services.paginate(db_session, statement, 1, 20)
    assert (page["items"], page["total"], page["pages"]) == ([], 0, 0)


def test_events_of_one_instant_keep_the_order_they_were_made(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    for target in ("verified", "forwarded"):
        services.transition(db_session, found, target, ctx, actor_id=None, actor_label="a")
    db_session.commit()
    db_session.expire_all()
    reloaded = db_session.scalar(select(Complaint).where(Complaint.id == found.id))
    assert [e.to_status for e in reloaded.events] == ["received", "verified", "forwarded"]
    assert len({e.at for e in reloaded.events}) == 1
    assert [e.id for e in reloaded.events] == sorted(
        db_session.scalars(select(ComplaintEvent.id).where(ComplaintEvent.complaint_id == found.id))
    )


def move(session, found, target, ctx, **values):
    values = {"actor_id": None, "actor_label": "x", **values}
    return services.transition(session, found, target, ctx, **values)


def test_work_deadline_counts_working_days_from_the_start(db_session, sampah):
    found = submit(db_session, ctx_for(db_session, FRIDAY_MORNING))
    started_on = ctx_for(db_session, datetime(2025, 2, 12, 3, tzinfo=UTC), work_days=4)
    move(db_session, found, "verified", started_on)
    event = move(
        db_session, found, "in_progress", started_on, actor_department_id=found.department_id
    )
    assert (event.action, found.work_due) == ("start", date(2025, 2, 18))  # skips the weekend
    assert services.due_date(found) == date(2025, 2, 18)
    assert not services.is_overdue(found, date(2025, 2, 18))
    assert services.is_overdue(found, date(2025, 2, 19))
    late = services.Filters(overdue_on=date(2025, 2, 19))
    assert list(db_session.scalars(services.filtered(late))) == [found]


def test_only_the_routed_department_starts_work_unforwarded(db_session, sampah, pupr):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    move(db_session, found, "verified", ctx)
    for actor in (None, pupr.id):
        with pytest.raises(services.ComplaintError) as refused:
            move(db_session, found, "in_progress", ctx, actor_department_id=actor)
        assert refused.value.field == "status"
    assert found.status == "verified"


def test_a_department_does_not_forward_to_itself(db_session, sampah, pupr):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    move(db_session, found, "verified", ctx)
    own = found.department_id
    with pytest.raises(services.ComplaintError) as refused:
        move(db_session, found, "forwarded", ctx, actor_department_id=own)
    assert refused.value.field == "department_id" and found.status == "verified"
    event = move(
        db_session, found, "forwarded", ctx, department_id=pupr.id, actor_department_id=own
    )
    assert (found.department_id, event.department_id, event.action) == (pupr.id, pupr.id, "forward")


def test_the_central_desk_forwards_to_the_routed_department(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    routed = found.department_id
    move(db_session, found, "verified", ctx)
    event = move(db_session, found, "forwarded", ctx)  # no department of its own
    assert (found.status, found.department_id, event.department_id) == ("forwarded", routed, routed)


def test_resolving_needs_a_note(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)
    for target in ("verified", "forwarded", "in_progress"):
        move(db_session, found, target, ctx)
    with pytest.raises(services.ComplaintError) as refused:
        move(db_session, found, "resolved", ctx, note="  ")
    assert refused.value.field == "note" and found.status == "in_progress"
    event = move(db_session, found, "resolved", ctx, note="Sudah diangkut.")
    assert (event.action, event.note) == ("resolve", "Sudah diangkut.")


def test_reopening_starts_a_new_work_deadline(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING, work_days=2)
    found = submit(db_session, ctx)
    for target in ("verified", "forwarded", "in_progress"):
        move(db_session, found, target, ctx)
    move(db_session, found, "resolved", ctx, note="Beres.")
    soon = ctx_for(db_session, datetime(2025, 2, 11, 3, tzinfo=UTC), work_days=2)
    event = services.reopen(db_session, found, soon, note="Belum beres.")
    assert (event.action, found.work_due) == ("reopen", date(2025, 2, 13))


def test_each_deadline_is_announced_once(db_session, sampah):
    ctx = ctx_for(db_session, FRIDAY_MORNING)
    found = submit(db_session, ctx)  # to be forwarded by Wednesday 12 February
    assert services.take_newly_overdue(db_session, date(2025, 2, 13)) == [found]
    late = ctx_for(db_session, datetime(2025, 2, 13, 3, tzinfo=UTC), followup_days=1)
    move(db_session, found, "verified", late)
    move(db_session, found, "forwarded", late)  # follow up by Friday 14
    assert services.take_newly_overdue(db_session, date(2025, 2, 14)) == []
    assert services.take_newly_overdue(db_session, date(2025, 2, 17)) == [found]
    work = ctx_for(db_session, datetime(2025, 2, 17, 3, tzinfo=UTC), work_days=1)
    move(db_session, found, "in_progress", work)  # finish by Tuesday 18
    assert services.take_newly_overdue(db_session, date(2025, 2, 18)) == []
    assert services.take_newly_overdue(db_session, date(2025, 2, 19)) == [found]
    assert services.take_newly_overdue(db_session, date(2025, 2, 19)) == []
