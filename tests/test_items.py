"""Each Listing field declares its role once; every field list elsewhere derives from it."""

from dataclasses import fields

import pytest

from scrapers.items import (
    DERIVED_FIELDS,
    NORMALIZED_FIELDS,
    RAW_FIELDS,
    ROLES,
    Listing,
    fields_with_role,
)


def test_every_field_has_exactly_one_known_role():
    assert {
        f.name: f.metadata.get("role")
        for f in fields(Listing)
        if f.metadata.get("role") not in ROLES
    } == {}


def test_the_roles_partition_the_fields():
    by_role = [fields_with_role(role) for role in ROLES]
    names = [name for group in by_role for name in group]
    assert sorted(names) == sorted(Listing.field_names())


def test_field_lists_come_from_the_roles():
    assert fields_with_role("identity") == ("source", "listing_id", "url")
    assert "cab" in NORMALIZED_FIELDS
    assert DERIVED_FIELDS == ("landed_usd",)
    assert "landed_usd" not in NORMALIZED_FIELDS
    assert not set(RAW_FIELDS) & set(NORMALIZED_FIELDS)


def test_an_unknown_role_is_an_error():
    with pytest.raises(ValueError, match="unknown field roles"):
        fields_with_role("raw", "cooked")
