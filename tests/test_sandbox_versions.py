"""Graph API versions by date (sandbox.versions): available, upgraded when expired, unknown when not released."""

from datetime import date

import pytest

from sandbox.versions import GRAPH_VERSIONS, available_versions, serve_version


def test_late_2026_serves_v21_to_v26():
    # Meta's changelog: v20.0 expired 2026-09-24, v21.0 expires 2027-01-21, v26.0 released 2026-07-29.
    assert available_versions(date(2026, 11, 29)) == ["v21.0", "v22.0", "v23.0", "v24.0", "v25.0", "v26.0"]


def test_a_version_expires_on_its_expiration_date():
    assert "v21.0" in available_versions(date(2027, 1, 20))
    assert "v21.0" not in available_versions(date(2027, 1, 21))


def test_a_version_is_not_served_before_its_release():
    assert "v26.0" not in available_versions(date(2026, 7, 28))
    assert serve_version("v26.0", date(2026, 7, 28)) is None


def test_every_version_but_the_newest_expires_about_two_years_after_its_successor():
    for older, newer in zip(GRAPH_VERSIONS, GRAPH_VERSIONS[1:], strict=False):
        assert older.expires is not None
        assert 700 <= (older.expires - newer.released).days <= 740, older.name
    assert GRAPH_VERSIONS[-1].expires is None


def test_an_expired_version_is_upgraded_to_the_oldest_available():
    served = serve_version("v20.0", date(2026, 11, 29))
    assert served.name == "v21.0"
    assert served.warning == "The call has been auto-upgraded to v21.0 as v20.0 is deprecated."
    assert serve_version("v21.0", date(2027, 2, 1)).name == "v22.0"


@pytest.mark.parametrize("asked", ["v27.0", "v99.0", "v25.1", "26.0", "v26", ""])
def test_unreleased_or_malformed_versions_are_unknown(asked):
    assert serve_version(asked, date(2026, 11, 29)) is None


def test_a_configured_list_overrides_the_dates():
    assert serve_version("v22.0", date(2026, 11, 29), ("v23.0", "v24.0")).name == "v23.0"
    assert serve_version("v24.0", date(2026, 11, 29), ("v23.0", "v24.0")).warning is None
