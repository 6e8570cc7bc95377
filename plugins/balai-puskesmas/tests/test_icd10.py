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


# -- synonyms: Indonesian terms ------------------------------------------------------


def test_the_shipped_synonyms_name_leaf_codes_and_cover_common_terms() -> None:
    assert len(icd10.SYNONYMS) >= 40
    for term, codes in icd10.SYNONYMS.items():
        assert term == icd10.term_key(term), term
        assert codes, term
        for code in codes:
            assert icd10.is_leaf(code), (term, code)
    expected = {
        "demam": "R50.9",
        "batuk": "R05",
        "ispa": "J06.9",
        "hipertensi": "I10",
        "diabetes": "E11.9",
    }
    for term, code in expected.items():
        assert icd10.SYNONYMS[term][0] == code
    assert {"A09.9", "K59.1"} <= set(icd10.SYNONYMS["diare"])


def test_an_indonesian_term_finds_its_codes_first() -> None:
    found = icd10.search("demam")
    assert (found[0].code, found[0].term) == ("R50.9", "demam")
    # Other terms starting with the word follow (demam berdarah, demam tifoid).
    assert {"A97.9", "A01.0"} <= {c.code for c in found}
    assert icd10.search("DEMAM")[0].code == "R50.9"
    assert icd10.search("ispa")[0].code == "J06.9"
    assert icd10.search("sakit kep")[0].code == "R51"
    # English words still work, and find nothing by a synonym.
    assert icd10.search("fever")[0].term == ""
    assert icd10.search("zzzz") == []


def test_a_code_found_by_a_term_is_listed_once() -> None:
    codes = [c.code for c in icd10.search("kencing manis", limit=50)]
    assert len(codes) == len(set(codes))


def test_a_category_with_subcodes_in_a_synonym_stands_for_its_leaves() -> None:
    found = icd10.search("sakitperut", synonyms={"sakitperut": ("A09",)})
    assert [c.code for c in found[:2]] == ["A09.0", "A09.9"]


def test_the_region_list_adds_terms_and_replaces_shipped_ones() -> None:
    terms = icd10.merged({"Anyang-Anyangan": ("N39.0",), "demam": ("R50.8",)})
    assert terms["anyang-anyangan"] == ("N39.0",)
    assert terms["demam"] == ("R50.8",)
    assert terms["batuk"] == ("R05",)
    assert icd10.search("anyang", synonyms=terms)[0].code == "N39.0"
    assert icd10.search("demam", synonyms=terms)[0].code == "R50.8"
    assert icd10.SYNONYMS["demam"] == ("R50.9",)  # the shipped list is left alone


def test_synonym_codes_is_for_a_whole_term() -> None:
    assert icd10.synonym_codes(" ISPA ") == ("J06.9",)
    assert icd10.synonym_codes("isp") == ()
    assert icd10.synonym_codes("panas", {"panas": ("R50.9",)}) == ("R50.9",)
