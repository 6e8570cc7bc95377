"""Public pages that do not depend on the visitor: ETag, 304 and the shared page cache."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import text as text_sql
from sqlalchemy import update
from sqlalchemy.orm import Session

from balai.db import db, utcnow
from balai.pagecache import EXTENSION, PageCache, cached_page
from balai.permissions import public
from balai.tenancy import Tenant, TenantInfo, bump_state
from balai.testing import travel
from balai_pengumuman.models import Announcement

LIST = "/pengumuman/"
REDIS_URL = os.environ.get("BALAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.balai_config(PAGE_CACHE=True)


@pytest.fixture
def redis_up() -> None:
    """Skip unless a Redis answers at REDIS_URL (the two-worker tests need one)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc})")


@pytest.fixture
def cache(app: Flask) -> PageCache:
    found: PageCache = app.extensions[EXTENSION]
    return found


@pytest.fixture
def enabled(enable_plugin: Callable[..., TenantInfo]) -> TenantInfo:
    return enable_plugin("pengumuman")


def announce(session: Session, title: str) -> Announcement:
    row = Announcement(
        title=title,
        body="Isi pengumuman.",
        category="layanan",
        published_at=utcnow() - timedelta(hours=1),
    )
    session.add(row)
    session.commit()
    return row


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_anonymous_page_has_validators_and_answers_304(
    client: FlaskClient, enabled: TenantInfo, db_session: Session, cache: PageCache
) -> None:
    announce(db_session, "Jalan ditutup")
    first = client.get(LIST)
    assert first.status_code == 200 and "Jalan ditutup" in text(first)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Cookie" in first.headers["Vary"]
    assert "Set-Cookie" not in first.headers

    again = client.get(LIST)
    assert again.get_data() == first.get_data() and cache.hits == 1
    assert again.headers["Content-Security-Policy"]  # the usual headers, on a hit too

    unchanged = client.get(LIST, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag
    assert client.get(LIST, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_home_page_too(client: FlaskClient, tenant: TenantInfo, cache: PageCache) -> None:
    etag = client.get("/").headers["ETag"]
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304
    assert cache.hits == 1


def test_change_through_the_app_is_seen_at_once(
    app: Flask,
    client: FlaskClient,
    enabled: TenantInfo,
    db_session: Session,
    login: Callable[..., Any],
) -> None:
    announce(db_session, "Jalan ditutup")
    etag = client.get(LIST).headers["ETag"]
    officer = app.test_client()
    officer.host = client.host  # type: ignore[attr-defined]
    login(officer, role="admin")
    form = {"title": "Air bersih gratis", "body": "Di balai desa.", "category": "layanan"}
    assert officer.post("/pengumuman/baru", data=form).status_code == 302
    after = client.get(LIST, headers={"If-None-Match": etag})
    assert after.status_code == 200 and "Air bersih gratis" in text(after)


def test_change_through_another_session_is_seen_at_once(
    client: FlaskClient, enabled: TenantInfo, db_session: Session
) -> None:
    row = announce(db_session, "Jalan ditutup")
    assert "Jalan ditutup" in text(client.get(f"/pengumuman/{row.id}"))
    assert "Jalan ditutup" in text(client.get(LIST))
    row.title = "Jalan dibuka lagi"
    db_session.commit()
    assert "Jalan dibuka lagi" in text(client.get(f"/pengumuman/{row.id}"))
    # a statement, not the unit of work
    db_session.execute(update(Announcement).values(title="Jalan diaspal"))
    db_session.commit()
    assert "Jalan diaspal" in text(client.get(LIST))
    # a change rolled back changes nothing, and the page stays cached
    row.title = "Tidak jadi"
    db_session.flush()
    db_session.rollback()
    assert "Jalan diaspal" in text(client.get(LIST))


@pytest.mark.parametrize(
    "write",
    [
        lambda session, id_: session.execute(
            text_sql("/* tidy */ UPDATE pengumuman_announcement SET title = :t WHERE id = :i"),
            {"t": "Jalan diaspal", "i": id_},
        ),
        lambda session, id_: session.execute(
            text_sql("-- tidy\nUPDATE pengumuman_announcement SET title = :t WHERE id = :i"),
            {"t": "Jalan diaspal", "i": id_},
        ),
        lambda session, id_: session.connection().execute(
            update(Announcement).where(Announcement.id == id_).values(title="Jalan diaspal")
        ),
        lambda session, id_: session.connection().exec_driver_sql(
            "UPDATE pengumuman_announcement SET title = 'Jalan diaspal'"
        ),
    ],
    ids=["comment-first text", "line-comment text", "core on the connection", "driver sql"],
)
def test_any_write_of_a_session_is_seen_at_once(
    client: FlaskClient,
    enabled: TenantInfo,
    db_session: Session,
    write: Callable[[Session, int], Any],
) -> None:
    row = announce(db_session, "Jalan ditutup")
    assert "Jalan ditutup" in text(client.get(LIST))
    write(db_session, row.id)
    db_session.commit()
    assert "Jalan diaspal" in text(client.get(LIST))


def test_a_change_is_announced_at_the_commit_not_at_a_savepoint(
    client: FlaskClient, enabled: TenantInfo, db_session: Session
) -> None:
    row = announce(db_session, "Jalan ditutup")
    assert "Jalan ditutup" in text(client.get(LIST))
    with db_session.begin_nested():  # released here; the transaction goes on
        row.title = "Jalan diaspal"
    # a page read between the release and the commit shows the rows of before ...
    assert "Jalan ditutup" in text(client.get(LIST))
    db_session.commit()
    # ... and is not what the commit's readers get
    assert "Jalan diaspal" in text(client.get(LIST))


def test_a_savepoint_rolled_back_keeps_the_changes_before_it(
    client: FlaskClient, enabled: TenantInfo, db_session: Session
) -> None:
    row = announce(db_session, "Jalan ditutup")
    assert "Jalan ditutup" in text(client.get(LIST))
    row.title = "Jalan diaspal"
    db_session.flush()
    savepoint = db_session.begin_nested()
    row.category = "lainnya"
    db_session.flush()
    savepoint.rollback()
    db_session.commit()
    assert "Jalan diaspal" in text(client.get(LIST))


def test_a_prefix_from_the_request_is_a_page_of_its_own(
    client: FlaskClient, enabled: TenantInfo, cache: PageCache
) -> None:
    # A SCRIPT_NAME (from a proxy, or forged where a proxy passes the header on) is in
    # every link of the page; the visitors without it must not be given those links.
    prefixed = client.get(LIST, environ_overrides={"SCRIPT_NAME": "//evil.example"})
    assert "//evil.example/" in text(prefixed)
    plain = client.get(LIST)
    assert "evil.example" not in text(plain)
    assert client.get(LIST).get_data() == plain.get_data() and cache.hits == 1


def test_reads_leave_the_cache_alone(
    client: FlaskClient, enabled: TenantInfo, db_session: Session, cache: PageCache
) -> None:
    announce(db_session, "Jalan ditutup")
    client.get(LIST)
    db_session.execute(text_sql("/* count */ SELECT count(*) FROM pengumuman_announcement"))
    db_session.commit()
    client.get(LIST)
    assert cache.hits == 1


def test_many_addresses_cannot_hold_more_than_the_bound(
    app: Flask, client: FlaskClient, enabled: TenantInfo, cache: PageCache
) -> None:
    cache.max_bytes = 400_000
    for n in range(60):  # each query string its own entry
        assert client.get(f"{LIST}?q={n}-{'x' * 400}").status_code == 200
    counted = sum(len(page.body) for page in cache._pages.values())
    assert cache._size <= cache.max_bytes
    assert cache._size >= counted + 400 * len(cache._pages)  # keys and overhead count too
    # a query string longer than any link's is answered, never kept
    stores = cache.stores
    assert client.get(f"{LIST}?q={'y' * 600}").status_code == 200
    assert cache.stores == stores


def test_appearance_change_is_seen(app: Flask, client: FlaskClient, tenant: TenantInfo) -> None:
    assert "Kota A" in text(client.get("/"))
    with db.all_tenants() as session:
        session.get(Tenant, tenant.id).name = "Kota Anyar"  # type: ignore[union-attr]
        bump_state(session)
        session.commit()
    assert "Kota Anyar" in text(client.get("/"))


def test_other_region_never_gets_the_page(
    app: Flask,
    make_tenant: Callable[..., TenantInfo],
    cache: PageCache,
) -> None:
    # Two regions whose pages are byte for byte the same, on the same path.
    one = make_tenant("kota-satu", name="Kota Sama", plugins=["pengumuman"])
    two = make_tenant("kota-dua", name="Kota Sama", plugins=["pengumuman"])
    cache._versions.clear()  # as in a worker started after both were made
    first, second = app.test_client(), app.test_client()
    first.host, second.host = one.domains[0], two.domains[0]  # type: ignore[attr-defined]
    assert first.get(LIST).get_data() == second.get(LIST).get_data()
    assert (cache.hits, cache.stores) == (0, 2)  # each region rendered its own
    session = db.new_session(two.id)
    announce(session, "Hanya di Kota Dua")
    session.close()
    assert "Hanya di Kota Dua" in text(second.get(LIST))
    assert "Hanya di Kota Dua" not in text(first.get(LIST))
    assert "Hanya di Kota Dua" in text(second.get(LIST))
    assert "Hanya di Kota Dua" not in text(first.get(LIST))


def test_logged_in_visitor_never_reads_nor_fills_the_cache(
    app: Flask,
    client: FlaskClient,
    enabled: TenantInfo,
    login: Callable[..., Any],
    cache: PageCache,
) -> None:
    member = app.test_client()
    member.host = client.host  # type: ignore[attr-defined]
    user = login(member, role="warga")
    # logged in first: nothing stored
    own = member.get(LIST)
    assert user.name in text(own)
    assert "ETag" not in own.headers and own.headers["Cache-Control"] == "private, no-store"
    assert cache.stores == 0
    # the anonymous page, cached, is never the logged-in visitor's
    anonymous = client.get(LIST)
    assert user.name not in text(anonymous) and cache.stores == 1
    again = member.get(LIST, headers={"If-None-Match": anonymous.headers["ETag"]})
    assert again.status_code == 200 and user.name in text(again)
    assert (cache.hits, cache.stores) == (0, 1)


def test_languages_are_kept_apart(
    app: Flask, client: FlaskClient, enabled: TenantInfo, cache: PageCache
) -> None:
    indonesian = text(client.get(LIST))
    client.set_cookie("balai_lang", "en", domain=client.host)  # type: ignore[attr-defined]
    english = text(client.get(LIST))
    assert 'lang="en"' in english and 'lang="id"' in indonesian
    assert cache.stores == 2
    client.delete_cookie("balai_lang", domain=client.host)  # type: ignore[attr-defined]
    assert text(client.get(LIST)) == indonesian
    client.set_cookie("balai_lang", "en", domain=client.host)  # type: ignore[attr-defined]
    assert text(client.get(LIST)) == english
    assert cache.hits == 2


def test_a_page_with_the_visitors_token_or_message_is_never_shared(
    app: Flask, tenant: TenantInfo, cache: PageCache
) -> None:
    @public
    @cached_page
    def form_page() -> str:
        return render_template_string("<form>{{ csrf_token() }}</form>")

    app.add_url_rule("/uji-formulir", "uji_formulir", form_page)
    first, second = app.test_client(), app.test_client()
    first.host = second.host = tenant.domains[0]  # type: ignore[attr-defined]
    one, two = first.get("/uji-formulir"), second.get("/uji-formulir")
    assert one.get_data() != two.get_data()
    assert cache.stores == 0 and "ETag" not in one.headers
    assert "public" not in one.headers.get("Cache-Control", "")


def test_a_browser_that_logged_out_is_served_from_the_cache(
    client: FlaskClient, enabled: TenantInfo, login: Callable[..., Any], cache: PageCache
) -> None:
    from balai.auth import device

    login(client)  # a citizen
    client.post("/keluar", data={})
    client.get("/")  # the "logged out" message is shown: the session is empty
    host = client.host  # type: ignore[attr-defined]
    assert client.get_cookie(device.COOKIE, domain=host) is not None  # spares a next login
    session_cookie = client.application.config["SESSION_COOKIE_NAME"]
    assert client.get_cookie(session_cookie, domain=host) is None
    client.get(LIST)
    client.get(LIST)
    assert cache.hits == 1


def test_a_visitor_with_a_session_is_not_served_from_the_cache(
    client: FlaskClient, enabled: TenantInfo, cache: PageCache
) -> None:
    client.get(LIST)
    client.set_cookie("balai_session", "anything", domain=client.host)  # type: ignore[attr-defined]
    client.get(LIST)
    assert (cache.hits, cache.stores) == (0, 1)


@pytest.mark.balai_config(PAGE_CACHE=False)
def test_without_the_cache_pages_still_answer_304(
    client: FlaskClient, enabled: TenantInfo, db_session: Session, cache: PageCache
) -> None:
    first = client.get(LIST)
    etag = first.headers["ETag"]
    assert client.get(LIST, headers={"If-None-Match": etag}).status_code == 304
    announce(db_session, "Jalan ditutup")
    assert client.get(LIST, headers={"If-None-Match": etag}).status_code == 200
    assert (cache.hits, cache.stores) == (0, 0)


def test_last_modified_once_its_second_has_passed(
    client: FlaskClient, enabled: TenantInfo, db_session: Session
) -> None:
    with travel("2026-03-02T08:00:00+00:00"):
        first = client.get(LIST)
        assert "Last-Modified" not in first.headers  # another page may follow this second
    with travel("2026-03-02T08:00:01+00:00"):
        again = client.get(LIST)
        stamp = again.headers["Last-Modified"]
        assert stamp == "Mon, 02 Mar 2026 08:00:00 GMT"
        assert client.get(LIST, headers={"If-Modified-Since": stamp}).status_code == 304
        announce(db_session, "Jalan ditutup")
        assert client.get(LIST, headers={"If-Modified-Since": stamp}).status_code == 200


def test_workers_share_changes_through_redis(
    make_app: Callable[..., Flask], make_tenant: Callable[..., TenantInfo], redis_up: None
) -> None:
    prefix = f"test-{secrets.token_hex(6)}:"
    settings = {"REDIS_URL": REDIS_URL, "PAGE_CACHE": None, "PAGE_CACHE_KEY_PREFIX": prefix}
    one, two = make_app(**settings), make_app(**settings)  # two workers
    assert one.extensions[EXTENSION].enabled  # on by itself with Redis
    with one.app_context():
        region = make_tenant("kota-r", plugins=["pengumuman"])
    clients = []
    for worker in (one, two):
        client = worker.test_client()
        client.host = region.domains[0]  # type: ignore[attr-defined]
        assert "Jalan ditutup" not in text(client.get(LIST))
        clients.append(client)
    with one.app_context():  # the first worker's change
        session = db.new_session(region.id)
        announce(session, "Jalan ditutup")
        session.close()
    assert "Jalan ditutup" in text(clients[1].get(LIST))  # the second one's next answer
    assert "Jalan ditutup" in text(clients[0].get(LIST))
    cache = two.extensions[EXTENSION]
    assert "Jalan ditutup" in text(clients[1].get(LIST)) and cache.hits == 1


def test_versions_read_from_redis_at_most_every_check_seconds(
    make_app: Callable[..., Flask], make_tenant: Callable[..., TenantInfo], redis_up: None
) -> None:
    prefix = f"test-{secrets.token_hex(6)}:"
    settings = {"REDIS_URL": REDIS_URL, "PAGE_CACHE_KEY_PREFIX": prefix, "PAGE_CACHE_CHECK": 5}
    one, two = make_app(**settings), make_app(**settings)
    region = make_tenant("kota-r", plugins=["pengumuman"])
    reader = two.test_client()
    reader.host = region.domains[0]  # type: ignore[attr-defined]
    with travel("2026-03-02T08:00:00+00:00"):
        assert "Jalan ditutup" not in text(reader.get(LIST))
        with one.app_context():
            session = db.new_session(region.id)
            announce(session, "Jalan ditutup")
            session.close()
    with travel("2026-03-02T08:00:04+00:00"):
        assert "Jalan ditutup" not in text(reader.get(LIST))  # within the bound
    with travel("2026-03-02T08:00:05+00:00"):
        assert "Jalan ditutup" in text(reader.get(LIST))


def test_versions_kept_before_redis_lost_its_keys_never_match_again(
    make_app: Callable[..., Flask], make_tenant: Callable[..., TenantInfo], redis_up: None
) -> None:
    import redis

    prefix = f"test-{secrets.token_hex(6)}:"
    settings = {"REDIS_URL": REDIS_URL, "PAGE_CACHE_KEY_PREFIX": prefix}
    one, two = make_app(**settings), make_app(**settings)
    region = make_tenant("kota-r", plugins=["pengumuman"])
    reader = two.test_client()
    reader.host = region.domains[0]  # type: ignore[attr-defined]

    def write(title: str) -> None:
        with one.app_context():
            session = db.new_session(region.id)
            announce(session, title)
            session.close()

    write("Jalan ditutup")  # the region's counter in Redis: 1
    assert "Jalan ditutup" in text(reader.get(LIST))  # kept under it
    store = redis.Redis.from_url(REDIS_URL)
    store.delete(*store.keys(f"{prefix}*"))  # Redis restarted without its keys
    write("Air bersih gratis")  # the counter starts again: 1
    assert "Air bersih gratis" in text(reader.get(LIST))
