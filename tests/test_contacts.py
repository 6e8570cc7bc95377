"""Phone numbers and e-mail addresses in one canonical form (balai.contacts)."""

from __future__ import annotations

import pytest

from balai.auth.accounts import AccountError, normalise_email
from balai.contacts import email_address, mobile_number, recipient_key


@pytest.mark.parametrize(
    "written",
    ["0812-3456-7890", "+62 812 3456 7890", "62812.3456.7890", "(0812) 3456 7890", "81234567890"],
)
def test_every_spelling_of_a_mobile_number_is_one_number(written):
    assert mobile_number(written) == "+6281234567890"


@pytest.mark.parametrize(
    "written", ["", None, "021 555 1234", "0812", "+1 812 3456 7890", "08\uff11\uff1234567890"]
)
def test_what_is_not_an_indonesian_mobile_number(written):
    assert mobile_number(written) is None


def test_a_recipient_is_the_same_however_it_is_written():
    assert recipient_key("phone", "0812-3456-7890") == recipient_key("phone", "+6281234567890")
    assert recipient_key("email", "Siti+1@Contoh.ID") == recipient_key("email", "siti+2@contoh.id")
    assert recipient_key("email", "siti@contoh.id") == "email:siti@contoh.id"
    assert recipient_key("email", "siti@contoh.id") != recipient_key("email", "sita@contoh.id")
    gmail = recipient_key("email", "korban.test@gmail.com")
    assert gmail == recipient_key("email", "k.o.r.b.a.n.test@gmail.com")
    assert gmail == recipient_key("email", "Korban.Test+x@GoogleMail.com")
    assert recipient_key("email", "a.b@contoh.id") != recipient_key("email", "ab@contoh.id")


@pytest.mark.parametrize(
    "address",
    [
        "siti\u200b@contoh.id",  # zero-width space
        "siti\u00ad@contoh.id",  # soft hyphen
        "s\u0456ti@contoh.id",  # Cyrillic i
        "siti@contoh.id\u202e",  # right-to-left override
        "siti @contoh.id",
        "siti@contoh",
        "a" * 250 + "@contoh.id",
    ],
)
def test_an_account_address_cannot_look_like_another(address):
    assert email_address(address) is None
    with pytest.raises(AccountError) as refused:
        normalise_email(address)
    assert refused.value.field == "email"
    assert "\u200b" not in str(refused.value)


def test_an_account_address_is_trimmed_and_lower_cased():
    assert normalise_email("  Siti@Kota-Tangerang.GO.ID ") == "siti@kota-tangerang.go.id"
