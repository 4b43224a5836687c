"""Meta's normalization and hashing rules for user_data (DOMAIN.md §3)."""

import hashlib

import pytest

from pixelplus.hashing import (
    hash_field,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_state,
    normalize_zip,
    sha256,
)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        # Meta's documented examples.
        ("em", "John_Smith@gmail.com", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
        ("em", "  John_Smith@GMAIL.com ", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
        ("country", "us", "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"),
        ("country", "US", "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"),
    ],
)
def test_meta_documented_examples(field, raw, expected):
    assert hash_field(field, raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("06 12 34 56 78", "FR", "33612345678"),  # national French mobile: leading 0 dropped, 33 added
        ("+33 (0)6 12 34 56 78", "FR", "33612345678"),
        ("0033 6 12 34 56 78", "FR", "33612345678"),  # international prefix 00
        ("(650) 555-1212", "US", "16505551212"),
        ("650.555.1212", "US", "16505551212"),
        ("+1 650 555 1212", "FR", "16505551212"),  # an explicit country code wins over the customer's country
        ("020 7946 0958", "GB", "442079460958"),
        ("030 1234567", "DE", "49301234567"),
        ("0470 12 34 56", "BE", "32470123456"),
        ("+44 844 412 4653", None, "448444124653"),  # Meta's own example
        ("not a phone", "US", ""),
        ("", "FR", ""),
        (None, "FR", ""),
    ],
)
def test_phone_numbers_become_international_digits(raw, country, expected):
    assert normalize_phone(raw, country) == expected


def test_unreadable_phone_is_left_out_rather_than_hashed():
    assert hash_field("ph", "12", "FR") is None
    assert hash_field("ph", "06 12 34 56 78", "FR") == digest("33612345678")


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("94025-1234", "US", "94025"),  # US zip+4: first 5 digits
        ("94025", "US", "94025"),
        (" 10001 ", "US", "10001"),
        ("42000", "FR", "42000"),
        ("SW1A 1AA", "GB", "sw1a1aa"),  # others: lowercase, no spaces or dashes
        ("1234-567", "PT", "1234567"),
        ("", "US", ""),
    ],
)
def test_zip_codes(raw, country, expected):
    assert normalize_zip(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Menlo Park", "menlopark"),
        ("Saint-Étienne", "saintétienne"),  # accents kept in UTF-8, as Meta asks; punctuation gone
        ("Saint-E\u0301tienne", "saintétienne"),  # the same city typed with a combining accent
        ("  NEW YORK ", "newyork"),
        ("L'Haÿ-les-Roses", "lhaÿlesroses"),
        ("Paris 16e", "parise"),
        ("São Paulo", "sãopaulo"),
    ],
)
def test_cities_lose_spaces_and_punctuation(raw, expected):
    assert normalize_city(raw) == expected


def test_city_hash_is_utf8_of_the_normalized_city():
    assert hash_field("ct", "Saint-Étienne") == hashlib.sha256("saintétienne".encode()).hexdigest()


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("CA", "US", "ca"),
        ("California", "US", "ca"),  # full US state names become the 2-letter code
        ("new york", "US", "ny"),
        ("N.Y.", "US", "ny"),
        ("Île-de-France", "FR", "îledefrance"),
        ("Bayern", "DE", "bayern"),
        ("", "FR", ""),
    ],
)
def test_states(raw, country, expected):
    assert normalize_state(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("FR", "fr"), (" us ", "us"), ("gb", "gb"), ("XX", ""), ("France", ""), ("", "")],
)
def test_countries_are_iso_alpha2_lowercase(raw, expected):
    assert normalize_country(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("John", "john"), ("  Mary   Ann ", "mary ann"), ("O'Brien-Smith", "obriensmith"), ("Éloïse", "éloïse")],
)
def test_names(raw, expected):
    assert normalize_name(raw) == expected


def test_email_is_trimmed_and_lowercased_only():
    assert normalize_email("  Jeanne.Martin+shop@Example.FR ") == "jeanne.martin+shop@example.fr"


def test_values_already_hashed_pass_as_is():
    hashed = digest("john_smith@gmail.com")
    assert hash_field("em", hashed) == hashed
    assert hash_field("em", hashed.upper()) == hashed
    assert hash_field("ph", hashed, "FR") == hashed


def test_empty_values_are_left_out_not_hashed():
    for field in ("em", "fn", "ln", "ct", "country", "external_id"):
        assert hash_field(field, "") is None
        assert hash_field(field, None) is None
    assert sha256("") != hash_field("em", "x@y.z")


def test_external_id_is_the_hashed_customer_id():
    assert hash_field("external_id", "42") == digest("42")
