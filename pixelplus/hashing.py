"""Meta's customer-information rules: normalize each field, then SHA-256 it (lowercase hex).

The rules (Meta's "Customer Information Parameters", checked against the facebook-business SDK):
- everything is trimmed and lowercased (Unicode NFC first, so "é" typed two ways hashes the same);
- em: as is; a value that is already 64 hex characters passes unchanged (hashed upstream);
- ph: international digits with the country code, no "+" or leading zeros; national numbers are read
  with the customer's country by the ``phonenumbers`` library (a French "06 12 34 56 78" → 33612345678);
- fn, ln: no punctuation, single spaces;
- ct: letters only, no spaces, digits or punctuation; accented letters are kept in UTF-8 as Meta asks
  ("Saint-Étienne" → "saintétienne"), which is also what the SDK produces;
- st: the 2-letter code for US states (a full name such as "California" is mapped to "ca"); elsewhere
  letters only, like ct;
- zp: US zip codes keep their first 5 digits ("94025-1234" → "94025"); others lose spaces and dashes;
- country: ISO 3166-1 alpha-2, lowercase; an unknown code is left out;
- external_id: the shop's customer id, hashed (Meta recommends hashing it).
A value that normalizes to nothing is left out rather than sent as the hash of "".
"""

import hashlib
import re
import unicodedata

import phonenumbers
import pycountry

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPACES = re.compile(r"\s+")


def sha256(text: str) -> str:
    """Return the SHA-256 of text (UTF-8) as lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_hashed(value: str) -> bool:
    """Whether value is already a SHA-256 hex digest."""
    return bool(_SHA256.fullmatch(value.strip().lower()))


def _base(value: str | None) -> str:
    return unicodedata.normalize("NFC", value or "").strip().lower()


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def normalize_email(value: str | None) -> str:
    """Trim and lowercase an e-mail address."""
    return _base(value)


def normalize_name(value: str | None) -> str:
    """Lowercase a first or last name, without punctuation, with single spaces."""
    text = "".join(ch for ch in _base(value) if not unicodedata.category(ch).startswith("P"))
    return _SPACES.sub(" ", text).strip()


def normalize_phone(value: str | None, country: str | None) -> str:
    """Return the number as international digits (E.164 without "+"), or "" when it cannot be read."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def normalize_city(value: str | None) -> str:
    """Lowercase letters only: no spaces, digits or punctuation (accents kept)."""
    return _letters(_base(value))


def normalize_state(value: str | None, country: str | None) -> str:
    """Return a US state as its 2-letter code; elsewhere lowercase letters only."""
    text = _base(value)
    if (country or "").upper() == "US":
        letters = _letters(text)
        if len(letters) == 2:
            return letters
        for subdivision in pycountry.subdivisions.get(country_code="US") or ():
            if _letters(_base(subdivision.name)) == letters:
                return subdivision.code.split("-", 1)[1].lower()
        return letters
    return _letters(text)


def normalize_zip(value: str | None, country: str | None) -> str:
    """Return the first 5 digits of a US zip code; other postcodes without spaces or dashes."""
    text = _base(value)
    if (country or "").upper() == "US":
        digits = "".join(ch for ch in text.split("-", 1)[0] if ch.isdigit())
        return digits[:5]
    return re.sub(r"[\s\-]", "", text)


def normalize_country(value: str | None) -> str:
    """Return the ISO 3166-1 alpha-2 code in lowercase, or "" when it is not one."""
    code = _letters(_base(value))
    return code if len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) else ""


def hashed(normalized: str) -> str | None:
    """Return the SHA-256 of a normalized value, or None for "" (never the hash of nothing)."""
    return sha256(normalized) if normalized else None


def hash_field(field: str, value: str | None, country: str | None = None) -> str | None:
    """Normalize and hash one user_data field (em, ph, fn, ln, ct, st, zp, country, external_id)."""
    if value is not None and is_hashed(str(value)):
        return str(value).strip().lower()
    value = None if value is None else str(value)
    normalizers = {
        "em": normalize_email,
        "fn": normalize_name,
        "ln": normalize_name,
        "ct": normalize_city,
        "country": normalize_country,
        "external_id": _base,
    }
    if field == "ph":
        return hashed(normalize_phone(value, country))
    if field == "st":
        return hashed(normalize_state(value, country))
    if field == "zp":
        return hashed(normalize_zip(value, country))
    return hashed(normalizers[field](value))
