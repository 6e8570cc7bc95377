"""The NIK check, the vault, and the access rules shared by every part."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from balai_puskesmas import services
from balai_puskesmas.nik import NikError, birth_date_of, check_nik, sex_of
from balai_puskesmas.services import Actor, AuditContext, AuditRequired, audit
from balai_puskesmas.vault import Vault, VaultError

from .conftest import NIK_MAN, NIK_WOMAN

TODAY = date(2026, 11, 23)
ARABIC_INDIC = "".join(chr(0x0660 + d) for d in range(10))
FULL_WIDTH = "".join(chr(0xFF10 + d) for d in range(10))


@pytest.mark.parametrize(
    "value",
    [
        "367101150385990",  # 15 digits
        "36710115038599011",  # 17 digits
        NIK_MAN + "\n",  # trailing newline
        " " + NIK_MAN,
        NIK_MAN.translate(str.maketrans("0123456789", ARABIC_INDIC)),
        NIK_MAN.translate(str.maketrans("0123456789", FULL_WIDTH)),
        "3671-0115-0385-9901",
        "",
        None,
        3671011503859901,
    ],
)
def test_nik_shape_is_refused(value: object) -> None:
    with pytest.raises(NikError, match="16 digits"):
        check_nik(value, today=TODAY)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("9971011503859901", "province"),
        ("3600011503859901", "regency"),
        ("3671001503859901", "regency"),
        ("3671013203859901", "date of birth"),  # day 32
        ("3671011513859901", "date of birth"),  # month 13
        ("3671013002859901", "date of birth"),  # 30 February
        ("3671011503850000", "0000"),
    ],
)
def test_nik_parts_must_be_plausible(value: str, part: str) -> None:
    with pytest.raises(NikError, match=part):
        check_nik(value, today=TODAY)


def test_nik_birth_date_and_sex() -> None:
    assert check_nik(NIK_MAN, today=TODAY) == NIK_MAN
    assert birth_date_of(NIK_MAN, today=TODAY) == date(1985, 3, 15)
    assert birth_date_of(NIK_WOMAN, today=TODAY) == date(1992, 7, 15)
    assert birth_date_of("3671011501259901", today=TODAY) == date(2025, 1, 15)
    assert birth_date_of("3671011501279901", today=TODAY) == date(1927, 1, 15)
    assert (sex_of(NIK_MAN), sex_of(NIK_WOMAN)) == ("male", "female")


class _Session:
    """Just enough of a session for :func:`audit`: its tenant, and ``add``."""

    def __init__(self, tenant_id: int) -> None:
        self.info = {"tenant_id": tenant_id}
        self.added: list[object] = []

    def add(self, entry: object) -> None:
        self.added.append(entry)


def _audited(tenant_id: int) -> AuditContext:
    return audit(_Session(tenant_id), Actor(None, "test"), "test.read", datetime.now(UTC))  # type: ignore[arg-type]


def test_the_vault_opens_nothing_without_an_audit_entry() -> None:
    """Decrypting an identifier needs the context only ``audit()`` makes, of the same
    region: forgetting the entry fails loudly instead of leaking quietly."""
    vault = Vault.derive("secret", 1)
    sealed = vault.encrypt(NIK_MAN)
    session = _Session(1)
    audited = audit(session, Actor(None, "test"), "patient.read", datetime.now(UTC))  # type: ignore[arg-type]
    assert len(session.added) == 1  # the entry is in the caller's transaction
    assert vault.decrypt(sealed, audited) == NIK_MAN
    for missing in (None, object(), "patient.read", _audited(2)):
        with pytest.raises(AuditRequired):
            vault.decrypt(sealed, missing)  # type: ignore[arg-type]
        with pytest.raises(AuditRequired):
            vault.open(None, missing)  # type: ignore[arg-type]
    with pytest.raises(AuditRequired):
        AuditContext(audited.entry, 1)  # only audit() makes one


def test_vault_round_trip_and_keys_per_tenant() -> None:
    one, two = Vault.derive("secret", 1), Vault.derive("secret", 2)
    sealed = one.encrypt(NIK_MAN)
    assert NIK_MAN.encode() not in sealed
    assert one.decrypt(sealed, _audited(1)) == NIK_MAN
    assert one.encrypt(NIK_MAN) != sealed  # a fresh nonce each time
    assert one.hash(NIK_MAN) == Vault.derive("secret", 1).hash(NIK_MAN)
    assert one.hash(NIK_MAN) != two.hash(NIK_MAN)
    with pytest.raises(VaultError):
        two.decrypt(sealed, _audited(2))
    with pytest.raises(VaultError):
        one.decrypt(sealed[:-1] + bytes([sealed[-1] ^ 1]), _audited(1))
    assert "secret" not in repr(one)


def test_access_follows_duty_and_region_policy() -> None:
    desk_a = services.Actor(1, "desk", duties={10: "registration"})
    assert services.can_read_visits_at(desk_a, 10)
    assert not services.can_read_visits_at(desk_a, 20)
    shared = services.Actor(1, "desk", duties={10: "registration"}, share_records=True)
    assert services.can_read_visits_at(shared, 20)
    nobody = services.Actor(2, "admin", share_records=True)
    assert not services.can_read_visits_at(nobody, 10)
    services.require_duty(desk_a, 10, "registration")
    with pytest.raises(services.PuskesmasError) as refused:
        services.require_duty(desk_a, 10, "clinician")
    assert refused.value.status == 403
