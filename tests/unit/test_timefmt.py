"""Tests for s3core.timefmt: ISO 8601, HTTP-date and X-Amz-Date formats."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3core.timefmt import http_date, iso8601, parse_amz_date, parse_http_date
from tests.strategies.xml import UTC, instants

RFC_EXAMPLE = dt.datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


def test_iso8601_has_zero_milliseconds_and_z() -> None:
    """iso8601 writes S3's form: whole seconds, a .000 field and a Z designator."""
    when = dt.datetime(2026, 11, 24, 12, 0, 0, 999_999, tzinfo=UTC)
    assert iso8601(when) == "2026-11-24T12:00:00.000Z"


def test_iso8601_converts_to_utc_and_takes_naive_as_utc() -> None:
    """iso8601 converts other offsets to UTC and reads a naive datetime as UTC."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert iso8601(dt.datetime(2026, 1, 1, 2, 0, tzinfo=plus_two)) == (
        "2026-01-01T00:00:00.000Z"
    )
    assert iso8601(dt.datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"


@given(instants)
def test_iso8601_round_trips_to_the_second(when: dt.datetime) -> None:
    """Parsing iso8601's output gives the instant truncated to whole seconds."""
    parsed = dt.datetime.fromisoformat(iso8601(when))
    assert parsed == when.replace(microsecond=0)


def test_http_date_is_imf_fixdate() -> None:
    """http_date writes RFC 7231's IMF-fixdate example exactly."""
    assert http_date(RFC_EXAMPLE) == "Sun, 06 Nov 1994 08:49:37 GMT"


@given(instants)
def test_http_date_agrees_with_email_utils(when: dt.datetime) -> None:
    """http_date matches the standard library's RFC 5322 GMT formatting."""
    assert http_date(when) == email.utils.format_datetime(when, usegmt=True)


@given(instants)
def test_http_date_round_trips_to_the_second(when: dt.datetime) -> None:
    """parse_http_date(http_date(t)) is t without its sub-second part."""
    assert parse_http_date(http_date(when)) == when.replace(microsecond=0)


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "  Sun, 06 Nov 1994 08:49:37 GMT  ",
    ],
)
def test_parse_http_date_accepts_all_three_rfc_forms(value: str) -> None:
    """Each of RFC 7231's three HTTP-date forms names the RFC's example instant."""
    assert parse_http_date(value) == RFC_EXAMPLE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2026-11-24T12:00:00Z",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT extra",
    ],
)
def test_parse_http_date_refuses_invalid_values(value: str) -> None:
    """Anything but a valid HTTP-date parses to None."""
    assert parse_http_date(value) is None


@given(st.text())
def test_parse_http_date_never_raises(value: str) -> None:
    """parse_http_date returns a UTC datetime or None for any text."""
    result = parse_http_date(value)
    assert result is None or result.tzinfo is UTC


def test_parse_http_date_reads_a_leap_second_as_59() -> None:
    """Second 60, which RFC 7231 allows, is read as second 59."""
    parsed = parse_http_date("Wed, 31 Dec 2016 23:59:60 GMT")
    assert parsed == dt.datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("two_digits", "now_year", "year"),
    [("94", 2026, 1994), ("26", 2026, 2026), ("76", 2026, 2076), ("77", 2026, 1977)],
)
def test_rfc850_year_is_never_more_than_50_years_ahead(
    two_digits: str, now_year: int, year: int
) -> None:
    """An rfc850-date's two-digit year is placed at most 50 years after now."""
    now = dt.datetime(now_year, 6, 1, tzinfo=UTC)
    parsed = parse_http_date(f"Sunday, 06-Nov-{two_digits} 08:49:37 GMT", now=now)
    assert parsed is not None
    assert parsed.year == year


def test_rfc850_year_without_now_uses_a_fixed_window() -> None:
    """Without a clock, 69-99 are 19xx and 00-68 are 20xx."""
    assert parse_http_date("Monday, 01-Jan-69 00:00:00 GMT") == dt.datetime(
        1969, 1, 1, tzinfo=UTC
    )
    assert parse_http_date("Monday, 01-Jan-68 00:00:00 GMT") == dt.datetime(
        2068, 1, 1, tzinfo=UTC
    )


def test_parse_amz_date_reads_the_sigv4_form() -> None:
    """parse_amz_date reads 20261124T120000Z as that UTC instant."""
    assert parse_amz_date("20261124T120000Z") == dt.datetime(
        2026, 11, 24, 12, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value",
    ["", "20261124T120000", "2026-11-24T12:00:00Z", "20261324T120000Z", "x" * 16],
)
def test_parse_amz_date_refuses_other_forms(value: str) -> None:
    """Anything but a valid yyyymmddThhmmssZ stamp parses to None."""
    assert parse_amz_date(value) is None
