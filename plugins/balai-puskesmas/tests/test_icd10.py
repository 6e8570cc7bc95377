"""The bundled ICD-10 list: normalising, looking up and searching codes; only leaf
codes can be recorded."""

from __future__ import annotations

import pytest

from balai_puskesmas import icd10


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("j069", "J06.9"),
        ("J06.9 ", "J06.9"),
        (" j06.9", "J06.9"),
        ("J 06 9", "J06.9"),
        ("i10", "I10"),
        ("I10.", "I10"),
        ("b1800", "B18.00"),
        ("a00-a09", "A00-A09"),
        ("", ""),
    ],
)
def test_normalise(typed: str, code: str) -> None:
    assert icd10.normalise(typed) == code


def test_lookup_accepts_categories_and_subcategories() -> None:
    assert icd10.lookup("J06.9") == "Acute upper respiratory infection, unspecified"
    assert icd10.lookup("j069") == "Acute upper respiratory infection, unspecified"
    assert icd10.lookup("I10") == "Essential (primary) hypertension"
    assert icd10.lookup("E11") == "Type 2 diabetes mellitus"
    assert icd10.lookup("B18.00") is not None


@pytest.mark.parametrize(
    "code",
    [
        "A00-A09",  # a block
        "J00-J06",  # a block
        "I",  # chapter I
        "XXI",  # chapter XXI
        "J06.7",  # no such subcategory
        "Q",
        "",
        "   ",
        "J06.9\n" * 3,
        "\u0a6a06.9",  # a Gurmukhi digit where the letter goes
        "\uff4a\uff10\uff16\uff0e\uff19",  # full-width "j06.9"
    ],
)
def test_lookup_refuses_what_cannot_be_recorded(code: str) -> None:
    assert icd10.lookup(code) is None


@pytest.mark.parametrize("code", ["I10", "J06.9", "j069", "K30", "A09.9", "B18.00"])
def test_leaf_codes_can_be_recorded(code: str) -> None:
    assert icd10.is_leaf(code)
    assert icd10.subcodes(code) == []


@pytest.mark.parametrize(
    ("code", "below"),
    [
        ("A09", ["A09.0", "A09.9"]),
        ("a09", ["A09.0", "A09.9"]),
        ("J06", ["J06.0", "J06.8", "J06.9"]),
        ("B18.0", ["B18.00", "B18.09"]),  # a subcategory refined further
        ("E11", [f"E11.{n}" for n in range(10)]),
    ],
)
def test_categories_with_subcodes_are_not_leaves(code: str, below: list[str]) -> None:
    assert icd10.lookup(code) is not None  # a real code, with a description...
    assert not icd10.is_leaf(code)  # ...that its subcodes refine
    assert icd10.subcodes(code) == below


@pytest.mark.parametrize("code", ["A00-A09", "I", "J06.7", "", "zz9"])
def test_what_is_no_code_is_no_leaf(code: str) -> None:
    assert not icd10.is_leaf(code)
    assert icd10.subcodes(code) == []


def test_search_by_code_prefix() -> None:
    codes = [c.code for c in icd10.search("j06")]
    assert codes == ["J06.0", "J06.8", "J06.9"]  # not J06: it cannot be recorded
    assert [c.code for c in icd10.search("a09")] == ["A09.0", "A09.9"]
    assert [c.code for c in icd10.search("J06.9")] == ["J06.9"]
    assert [c.code for c in icd10.search("i10")] == ["I10"]


def test_search_by_words_of_the_description() -> None:
    found = icd10.search("upper respiratory acute")
    assert "J06.9" in [c.code for c in found]
    assert all("respiratory" in c.description.lower() for c in found)
    dengue = icd10.search("DENGUE")
    assert dengue and all(c.code.startswith("A9") for c in dengue)


def test_search_leaves_out_chapters_and_blocks_and_respects_the_limit() -> None:
    found = icd10.search("infectious", limit=500)
    assert found
    assert all("-" not in c.code and c.code[0].isalpha() and c.code[1].isdigit() for c in found)
    assert all(icd10.is_leaf(c.code) for c in found)
    assert len(icd10.search("fever", limit=3)) == 3
    assert icd10.search("") == [] and icd10.search("   ") == []
    assert icd10.search("zzzznotaword") == []
    assert icd10.search("fever", limit=0) == []


def test_the_index_is_built_once() -> None:
    first = icd10._loaded()
    icd10.search("cholera")
    assert icd10._loaded() is first
    assert len(first.by_code) > 12_000
