"""Date formats S3 speaks: ISO 8601 in XML, HTTP-dates in headers, SigV4 stamps.

This module owns turning ``datetime`` values into the strings S3 sends and parsing the
date strings clients send. It is pure: it never reads the clock (a caller that needs
"now" passes it in) and never depends on the process locale, because HTTP-dates use
fixed English day and month names. Every ``datetime`` it returns is timezone-aware UTC;
a naive ``datetime`` handed in is taken to be UTC already.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["http_date", "iso8601", "parse_amz_date", "parse_http_date"]

_UTC = dt.timezone.utc

# RFC 7231 section 7.1.1.1: day-name and month are case-sensitive English names.
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, start=1)}

_DAY = "|".join(_DAY_NAMES)
_LONG_DAY = "|".join(_LONG_DAY_NAMES)
_MONTH = "|".join(_MONTHS)
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"

# IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT
#   e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
_IMF_FIXDATE = re.compile(
    rf"(?:{_DAY}), (?P<day>[0-9]{{2}}) (?P<month>{_MONTH}) (?P<year>[0-9]{{4}}) "
    rf"{_TIME} GMT"
)
# rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT
#   e.g. "Sunday, 06-Nov-94 08:49:37 GMT"
_RFC850_DATE = re.compile(
    rf"(?:{_LONG_DAY}), (?P<day>[0-9]{{2}})-(?P<month>{_MONTH})-(?P<year>[0-9]{{2}}) "
    rf"{_TIME} GMT"
)
# asctime-date = day-name SP date3 SP time-of-day SP year; date3 = month SP ( 2DIGIT /
# ( SP DIGIT ))  e.g. "Sun Nov  6 08:49:37 1994"
_ASCTIME_DATE = re.compile(
    rf"(?:{_DAY}) (?P<month>{_MONTH}) (?P<day>[0-9]{{2}}| [0-9]) {_TIME} "
    r"(?P<year>[0-9]{4})"
)
# SigV4's ISO 8601 basic format, as in X-Amz-Date: "20261124T120000Z".
_AMZ_DATE = re.compile(
    r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2})(?P<minute>[0-9]{2})(?P<second>[0-9]{2})Z"
)


def _as_utc(when: dt.datetime) -> dt.datetime:
    """``when`` in UTC; a naive value is taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=_UTC)
    return when.astimezone(_UTC)


def iso8601(when: dt.datetime) -> str:
    """Format as S3 does in XML bodies: ``2026-11-24T12:00:00.000Z``.

    S3 sends a milliseconds field and the ``Z`` designator (``LastModified``,
    ``CreationDate``), but the milliseconds are always ``000``: object times have
    whole-second precision, so a listing's LastModified equals HEAD's Last-Modified
    header (which has seconds only). Finer precision is truncated, not rounded.
    """
    utc = _as_utc(when)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.000Z"


def http_date(when: dt.datetime) -> str:
    """Format as an RFC 7231 IMF-fixdate: ``Tue, 24 Nov 2026 12:00:00 GMT``.

    RFC 7231 section 7.1.1.1: "A sender MUST generate timestamps in the IMF-fixdate
    format"; sub-second precision is dropped.
    """
    utc = _as_utc(when)
    # Fields, not strftime: two of these per response, and strftime was most of it.
    return (
        f"{_DAY_NAMES[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} "
        f"{utc.year:04d} {utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT"
    )


def _two_digit_year(year: int, now: dt.datetime | None) -> int:
    """The full year an rfc850-date's two-digit ``year`` stands for."""
    if now is None:
        # Without a clock we use the POSIX strptime window (69-99 -> 19xx, else 20xx),
        # which agrees with the RFC rule below for any "now" in 2019-2069.
        return year + (1900 if year >= 69 else 2000)
    # RFC 7231 section 7.1.1.1: "Recipients of a timestamp value in rfc850-date
    # format, which uses a two-digit year, MUST interpret a timestamp that appears to
    # be more than 50 years in the future as representing the most recent year in the
    # past that had the same last two digits."
    # Otherwise the year is the nearest one with those digits (compared by year).
    this_year = _as_utc(now).year
    full = this_year // 100 * 100 + year
    if full > this_year + 50:
        full -= 100
    elif full + 100 <= this_year + 50:
        full += 100
    return full


def _build(match: re.Match[str], year: int, month: int) -> dt.datetime | None:
    """The UTC datetime a matched date names, or ``None`` if no such instant exists."""
    second = int(match["second"])
    # RFC 7231 allows second 60 (a leap second); datetime cannot hold it.
    second = min(second, 59)
    try:
        return dt.datetime(
            year,
            month,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            second,
            tzinfo=_UTC,
        )
    except ValueError:
        return None


def parse_http_date(
    value: str, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Parse an HTTP-date in any of the three forms RFC 7231 requires recipients accept.

    RFC 7231 section 7.1.1.1: "A recipient that parses a timestamp value in an HTTP
    header field MUST accept all three HTTP-date formats": IMF-fixdate, the obsolete
    rfc850-date and asctime-date. The day name is checked for spelling only, not
    against the date, as the RFC asks of no recipient.

    Args:
        value: the header field value.
        now: the current time, used only to place an rfc850-date's two-digit year.

    Returns:
        The UTC instant, or ``None`` when ``value`` is not a valid HTTP-date (callers
        ignore such headers, as RFC 7232 asks for the conditional ones).
    """
    text = value.strip()
    if match := _IMF_FIXDATE.fullmatch(text):
        return _build(match, int(match["year"]), _MONTH_NUMBER[match["month"]])
    if match := _RFC850_DATE.fullmatch(text):
        year = _two_digit_year(int(match["year"]), now)
        return _build(match, year, _MONTH_NUMBER[match["month"]])
    if match := _ASCTIME_DATE.fullmatch(text):
        return _build(match, int(match["year"]), _MONTH_NUMBER[match["month"]])
    return None


def parse_amz_date(value: str) -> dt.datetime | None:
    """Parse SigV4's ``X-Amz-Date`` form ``20261124T120000Z``; ``None`` if invalid."""
    match = _AMZ_DATE.fullmatch(value.strip())
    if match is None:
        return None
    return _build(match, int(match["year"]), int(match["month"]))
