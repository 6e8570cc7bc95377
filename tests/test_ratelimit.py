"""The rate-limit facility: counted atomically, per region, in the database or in Redis.

Every test runs against the database storage (SQLite or PostgreSQL, whichever the
suite runs on) and against Redis (``BALAI_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/15``; skipped when no Redis answers).
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Blueprint
from sqlalchemy import select

from balai import ratelimit
from balai.db import db
from balai.permissions import public
from balai.ratelimit import Limit, RateCounter

REDIS_URL = os.environ.get("BALAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
FIVE = Limit("test.five", "5 per 15 minutes")


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(params=["database", "redis"])
def storage_app(request, make_app, tenant):
    """The app under test with its counters in the database, or in Redis."""
    if request.param == "database":
        yield make_app()
        return
    if not _redis_answers():
        pytest.skip(f"no Redis at {REDIS_URL}")
    app = make_app(
        RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=f"test-{secrets.token_hex(6)}"
    )
    yield app
    ratelimit.storage(app).reset()


def _hit(app, limit: Limit, *identity, tenant_id: int) -> ratelimit.Outcome:
    with app.app_context():
        return ratelimit.hit(limit, *identity, tenant_id=tenant_id)


# The database storage's own tests: whatever Redis the suite runs with.
IN_DATABASE = pytest.mark.balai_config(RATELIMIT_STORAGE_URL="balai+db://")


def test_a_limit_allows_its_amount_then_refuses_with_the_wait(storage_app, tenant):
    outcomes = [_hit(storage_app, FIVE, "10.0.0.1", tenant_id=tenant.id) for _ in range(7)]
    assert [o.allowed for o in outcomes] == [True] * 5 + [False] * 2
    assert 0 < outcomes[-1].retry_after <= 15 * 60
    assert _hit(storage_app, FIVE, "10.0.0.2", tenant_id=tenant.id)  # another address


def test_counters_belong_to_one_region_unless_the_limit_is_cross_region(
    storage_app, tenant, other_tenant
):
    for _ in range(5):
        assert _hit(storage_app, FIVE, "budi@example.test", tenant_id=tenant.id)
    assert not _hit(storage_app, FIVE, "budi@example.test", tenant_id=tenant.id)
    assert _hit(storage_app, FIVE, "budi@example.test", tenant_id=other_tenant.id)
    everywhere = Limit("test.everywhere", "2 per hour", cross_region=True)
    assert _hit(storage_app, everywhere, "ops@example.test", tenant_id=tenant.id)
    assert _hit(storage_app, everywhere, "ops@example.test", tenant_id=other_tenant.id)
    assert not _hit(storage_app, everywhere, "ops@example.test", tenant_id=tenant.id)


def test_a_hit_outside_a_region_must_say_it_is_cross_region(app):
    with app.test_request_context(), pytest.raises(RuntimeError, match="outside a region"):
        ratelimit.hit(FIVE, "10.0.0.1")


def test_refund_and_clear_give_hits_back(storage_app, tenant):
    with storage_app.app_context():
        for _ in range(5):
            ratelimit.hit(FIVE, "x", tenant_id=tenant.id)
        ratelimit.refund(FIVE, "x", tenant_id=tenant.id)
        assert ratelimit.hit(FIVE, "x", tenant_id=tenant.id)
        assert not ratelimit.hit(FIVE, "x", tenant_id=tenant.id)
        ratelimit.clear(FIVE, "x", tenant_id=tenant.id)
        assert ratelimit.hit(FIVE, "x", tenant_id=tenant.id)


def test_every_part_of_a_limit_must_allow_a_hit(storage_app, tenant):
    both = Limit("test.both", "2 per minute; 3 per hour")
    results = [_hit(storage_app, both, "y", tenant_id=tenant.id).allowed for _ in range(3)]
    assert results == [True, True, False]


def test_parallel_hits_never_pass_more_than_the_limit(storage_app, tenant):
    threads_count, limit = 40, Limit("test.ten", "10 per minute")
    barrier = threading.Barrier(threads_count)
    allowed: list[bool] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            with storage_app.app_context():
                barrier.wait(timeout=30)
                outcome = ratelimit.hit(limit, "10.0.0.9", tenant_id=tenant.id)
            with lock:
                allowed.append(outcome.allowed)
        except BaseException as exc:
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert allowed.count(True) == 10
    assert len(allowed) == threads_count


@IN_DATABASE
def test_a_window_ends_and_expired_counters_are_deleted(app, tenant, time_machine):
    time_machine.move_to(NOON, tick=False)
    for _ in range(5):
        assert ratelimit.hit(FIVE, "z", tenant_id=tenant.id)
    refused = ratelimit.hit(FIVE, "z", tenant_id=tenant.id)
    assert not refused and refused.retry_after == 15 * 60
    time_machine.shift(timedelta(minutes=10))
    assert ratelimit.hit(FIVE, "z", tenant_id=tenant.id).retry_after == 5 * 60
    time_machine.shift(timedelta(minutes=5))
    assert ratelimit.hit(FIVE, "z", tenant_id=tenant.id)  # a new window
    time_machine.shift(timedelta(minutes=15))
    deleted = ratelimit.storage().sweep()
    assert deleted == 1
    with db.all_tenants() as session:
        assert session.scalars(select(RateCounter)).all() == []


@IN_DATABASE
def test_stored_keys_hold_no_personal_data(app, tenant):
    ratelimit.hit(FIVE, "siti@example.test", tenant_id=tenant.id)
    with db.all_tenants() as session:
        (key,) = session.scalars(select(RateCounter.key)).all()
    assert "siti" not in key and f"t{tenant.id}" in key and "test.five" in key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "ip4:192.0.2.7"),
        ("::ffff:192.0.2.7", "ip4:192.0.2.7"),
        ("2001:DB8:1:2:aaaa::1", "ip6:2001:db8:1:2::/64"),
        ("fe80::1%eth0", "ip6:fe80::/64"),
        (None, "-"),
        ("", "-"),
        ("bukan-alamat", "other:bukan-alamat"),
    ],
)
def test_client_addresses_are_keyed_by_network(address, key):
    assert ratelimit.client_key(address) == key


def test_an_ipv6_client_cannot_step_through_its_64_for_new_counters(storage_app, tenant):
    two = Limit("test.two", "2 per hour")

    def hit(address: str) -> bool:
        return _hit(storage_app, two, ratelimit.client_key(address), tenant_id=tenant.id).allowed

    assert hit("2001:db8:5:6::1") and hit("2001:db8:5:6:ffff:ffff:ffff:ffff")
    assert not hit("2001:db8:5:6:1234::99")  # the same /64: the same counter
    assert hit("2001:db8:5:7::1")  # the next /64 is another subscriber
    assert hit("198.51.100.4") and hit("198.51.100.4")
    assert not hit("::ffff:198.51.100.4")  # the same IPv4 client, written as IPv6
    assert hit("198.51.100.5")  # IPv4 addresses count one by one


def test_limit_strings_are_checked():
    assert ratelimit.valid_spec("5 per 15 minutes")
    assert ratelimit.valid_spec("10/hour; 50/day")
    assert ratelimit.valid_spec("10 per jam; 50/hari")
    assert not ratelimit.valid_spec("lima per jam")
    assert (
        ratelimit.Limit("test.jam", "2 per 15 menit").items()
        == ratelimit.Limit("test.minutes", "2 per 15 minutes").items()
    )


limited = Blueprint("limited", __name__)
TWICE = Limit("test.twice", "2 per hour")


@limited.route("/coba", methods=["POST"])
@limited.route("/api/v1/coba", methods=["POST"])
@public
def coba() -> str:
    from flask import request

    outcome = ratelimit.hit(TWICE, ratelimit.client_key(request.remote_addr))
    if not outcome:
        raise ratelimit.TooManyRequests(outcome)
    return "ok"


@pytest.mark.balai_config(BABEL_DEFAULT_LOCALE="en")
def test_a_refusal_is_a_429_page_or_json_with_retry_after(make_app, tenant):
    app = make_app()
    app.register_blueprint(limited)
    client = app.test_client()
    for _ in range(2):
        assert client.post("/coba", base_url="http://kota-a.test").status_code == 200
    page = client.post("/coba", base_url="http://kota-a.test")
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 3600
    assert "Too many attempts. Try again in" in page.get_data(as_text=True)
    api = client.post("/api/v1/coba", base_url="http://kota-a.test")
    assert api.status_code == 429 and "Retry-After" in api.headers
    assert api.json["error"]["code"] == "too_many_requests"
    assert api.json["error"]["message"].startswith("Too many attempts. Try again in")


def test_an_unreachable_redis_answers_503(make_app, tenant):
    app = make_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")
    app.register_blueprint(limited)
    client = app.test_client()
    response = client.post("/coba", base_url="http://kota-a.test")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Sebagian layanan sedang tidak dapat dihubungi" in response.text
    assert "Basis data" not in response.text  # the database is up


def test_an_unreachable_store_is_raised_as_balais_error_and_the_librarys(make_app, tenant):
    from limits.errors import StorageError

    app = make_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")
    with app.app_context(), pytest.raises(ratelimit.StorageUnreachable) as raised:
        ratelimit.hit(FIVE, "10.0.0.1", tenant_id=tenant.id)
    assert isinstance(raised.value, StorageError)  # code catching the library's error


def test_a_storage_url_that_is_none_is_refused_at_start_naming_the_setting(make_app):
    with pytest.raises(ValueError, match="RATELIMIT_STORAGE_URL"):
        make_app(RATELIMIT_STORAGE_URL="localhost:6379")


def test_an_unknown_storage_is_named_at_the_first_hit(make_app, tenant):
    app = make_app(RATELIMIT_STORAGE_URL="nosuch://somewhere")
    with app.app_context(), pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URL"):
        ratelimit.hit(FIVE, "10.0.0.1", tenant_id=tenant.id)


def _counted_where(app, tenant) -> tuple[list[str], list[bytes]]:
    """Hit once; the keys then in the database and under the app's prefix in Redis."""
    import redis

    with app.app_context():
        assert ratelimit.hit(FIVE, "10.0.0.9", tenant_id=tenant.id)
        with db.all_tenants() as session:
            rows = list(session.scalars(select(RateCounter.key)))
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}*"))
    return rows, keys


def test_the_deployments_redis_holds_the_counters_unless_told_otherwise(make_app, tenant):
    if not _redis_answers():
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{secrets.token_hex(6)}"
    app = make_app(REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
    try:
        assert ratelimit.storage_url(app) == REDIS_URL
        rows, keys = _counted_where(app, tenant)
        assert rows == [] and len(keys) == 1
    finally:
        ratelimit.storage(app).reset()

    kept_in_database = make_app(
        REDIS_URL=REDIS_URL, RATELIMIT_STORAGE_URL="balai+db://", RATELIMIT_KEY_PREFIX=prefix
    )
    rows, keys = _counted_where(kept_in_database, tenant)
    assert len(rows) == 1 and keys == []


def test_without_any_redis_the_counters_are_in_the_database(make_app, tenant):
    app = make_app(RATELIMIT_STORAGE_URL=None, REDIS_URL=None)
    assert ratelimit.storage_url(app) == "balai+db://"
    with app.app_context():
        ratelimit.hit(FIVE, "10.0.0.9", tenant_id=tenant.id)
        with db.all_tenants() as session:
            assert len(session.scalars(select(RateCounter.key)).all()) == 1
