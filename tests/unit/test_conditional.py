"""Tests for s3core.conditional: Range parsing and If-* precedence."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3core import errors
from s3core.conditional import (
    ByteRange,
    evaluate_copy_source_conditions,
    evaluate_read_conditions,
    parse_range,
)
from s3core.http import Headers
from s3core.timefmt import http_date
from tests.strategies.xml import UTC, instants

ETAG = "9b2cf535f27731c974343645a3985328"
LAST = dt.datetime(2026, 11, 24, 12, 0, 0, 500_000, tzinfo=UTC)
BEFORE = http_date(LAST - dt.timedelta(seconds=1))
AT = http_date(LAST)
AFTER = http_date(LAST + dt.timedelta(seconds=1))


# --- Range -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=5-", 100, (5, 99)),
        ("bytes=-5", 100, (95, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=90-200", 100, (90, 99)),
        ("bytes=99-99", 100, (99, 99)),
        ("BYTES=0-0", 1, (0, 0)),
        ("  bytes= 3-4 ", 10, (3, 4)),
        ("bytes=007-8", 10, (7, 8)),
    ],
)
def test_parse_range_satisfiable_forms(
    header: str, size: int, expected: tuple[int, int]
) -> None:
    """Each satisfiable single byte range maps to its inclusive clamped bounds."""
    assert parse_range(header, size) == ByteRange(*expected)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes=5-3",
        "bytes=0-1,3-4",
        "bytes=0-1, -2",
        "items=0-9",
        "bytes 0-9",
        "bytes=a-b",
        "bytes=+1-2",
        "bytes=1_0-20",
        "bytes=\u0661-\u0662",
        "bytes=0--9",
    ],
)
def test_parse_range_ignores_what_s3_ignores(header: str | None) -> None:
    """No header, invalid syntax and multiple ranges mean the whole object."""
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=100-", 100),
        ("bytes=100-200", 100),
        ("bytes=-0", 100),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
        ("bytes=0-0", 0),
    ],
)
def test_parse_range_unsatisfiable_is_invalid_range(header: str, size: int) -> None:
    """An unsatisfiable range raises 416 InvalidRange naming range and size."""
    with pytest.raises(errors.InvalidRange) as caught:
        parse_range(header, size)
    assert caught.value.status == 416
    assert caught.value.extra == {
        "RangeRequested": header,
        "ActualObjectSize": str(size),
    }
    assert caught.value.headers["Content-Range"] == f"bytes */{size}"


def test_byte_range_length_and_content_range() -> None:
    """ByteRange counts both ends and renders the 206 Content-Range."""
    byte_range = ByteRange(0, 9)
    assert byte_range.length == 10
    assert byte_range.content_range(100) == "bytes 0-9/100"


def _model_range(
    first: int | None, last: int | None, suffix: int | None, size: int
) -> tuple[int, int] | str | None:
    """RFC 7233 section 2.1 case by case: bounds, 'unsatisfiable' or None."""
    if suffix is not None:
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return (max(0, size - suffix), size - 1)
    assert first is not None
    if last is not None and last < first:
        return None
    if first >= size:
        return "unsatisfiable"
    return (first, size - 1 if last is None or last >= size else last)


@given(
    first=st.none() | st.integers(0, 300),
    last=st.none() | st.integers(0, 300),
    suffix=st.integers(0, 300),
    size=st.integers(0, 200),
)
def test_parse_range_matches_the_rfc_model(
    first: int | None, last: int | None, suffix: int, size: int
) -> None:
    """parse_range agrees with a case-by-case model of RFC 7233 on any single range."""
    if first is None:
        header, expected = f"bytes=-{suffix}", _model_range(None, None, suffix, size)
    else:
        tail = "" if last is None else str(last)
        header, expected = (
            f"bytes={first}-{tail}",
            _model_range(first, last, None, size),
        )
    if expected == "unsatisfiable":
        with pytest.raises(errors.InvalidRange):
            parse_range(header, size)
        return
    result = parse_range(header, size)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        assert (result.start, result.end) == expected
        assert 1 <= result.length <= size


@given(st.text(max_size=30), st.integers(0, 1000))
def test_parse_range_never_fails_otherwise(header: str, size: int) -> None:
    """For any header text, parse_range returns None, an in-bounds range or 416."""
    try:
        result = parse_range(header, size)
    except errors.InvalidRange:
        return
    if result is not None:
        assert 0 <= result.start <= result.end < size


# --- Read conditions ---------------------------------------------------------------


def _read(**fields: str) -> int | None:
    headers = Headers.of([(name.replace("_", "-"), v) for name, v in fields.items()])
    return evaluate_read_conditions(headers, etag=ETAG, last_modified=LAST)


def test_no_conditions_proceed() -> None:
    """Without conditional headers the read proceeds."""
    assert _read() is None


@pytest.mark.parametrize(
    "value",
    [
        f'"{ETAG}"',
        ETAG,
        f'W/"{ETAG}"',
        f'"other", "{ETAG}"',
        f"other,{ETAG}",
        "*",
    ],
)
def test_if_match_forms_that_match(value: str) -> None:
    """Quoted, bare, weak, listed and * entity tags all match the object."""
    assert _read(If_Match=value) is None


def test_if_match_mismatch_is_precondition_failed() -> None:
    """A failing If-Match is 412 PreconditionFailed with Condition If-Match."""
    with pytest.raises(errors.PreconditionFailed) as caught:
        _read(If_Match='"other"')
    assert caught.value.extra == {"Condition": "If-Match"}


def test_if_match_true_overrides_if_unmodified_since_false() -> None:
    """S3: If-Match true and If-Unmodified-Since false returns 200."""
    assert _read(If_Match=ETAG, If_Unmodified_Since=BEFORE) is None


def test_if_unmodified_since_false_alone_is_precondition_failed() -> None:
    """If-Unmodified-Since before Last-Modified fails with its own Condition."""
    with pytest.raises(errors.PreconditionFailed) as caught:
        _read(If_Unmodified_Since=BEFORE)
    assert caught.value.extra == {"Condition": "If-Unmodified-Since"}


def test_if_none_match_false_is_not_modified() -> None:
    """If-None-Match naming the object answers 304."""
    assert _read(If_None_Match=f'"{ETAG}"') == 304
    assert _read(If_None_Match="*") == 304


def test_if_none_match_false_overrides_if_modified_since_true() -> None:
    """S3: If-None-Match false and If-Modified-Since true returns 304."""
    assert _read(If_None_Match=ETAG, If_Modified_Since=BEFORE) == 304


def test_if_none_match_true_overrides_if_modified_since_false() -> None:
    """RFC 7232: If-Modified-Since is ignored when If-None-Match is present."""
    assert _read(If_None_Match='"other"', If_Modified_Since=AFTER) is None


def test_dates_compare_at_second_resolution() -> None:
    """Echoing Last-Modified (whole seconds) counts as not modified since."""
    assert _read(If_Modified_Since=AT) == 304
    assert _read(If_Unmodified_Since=AT) is None
    assert _read(If_Modified_Since=BEFORE) is None


def test_unparseable_dates_are_ignored() -> None:
    """A date that is not an HTTP-date is treated as absent."""
    assert _read(If_Modified_Since="tomorrow") is None
    assert _read(If_Unmodified_Since="2020-01-01") is None


def test_if_match_failure_wins_over_if_none_match() -> None:
    """If-Match is evaluated first, so its 412 comes before any 304."""
    with pytest.raises(errors.PreconditionFailed):
        _read(If_Match='"other"', If_None_Match=ETAG)


def test_blank_etag_headers_are_ignored() -> None:
    """An empty If-Match or If-None-Match value is treated as absent."""
    assert _read(If_Match=" ", If_None_Match="") is None


def _rfc_table(
    if_match: bool | None,
    if_unmodified: bool | None,
    if_none_match: bool | None,
    if_modified: bool | None,
) -> int | None:
    """RFC 7232 section 6 as a table: each argument is the condition's truth or None.

    Returns 412, 304 or None (proceed).
    """
    if if_match is False or (if_match is None and if_unmodified is False):
        return 412
    if if_none_match is False or (if_none_match is None and if_modified is False):
        return 304
    return None


_ETAG_CHOICES = {True: f'"{ETAG}"', False: '"nope"'}
# If-Unmodified-Since holds when Last-Modified <= date; If-Modified-Since when >.
_UNMODIFIED_CHOICES = {True: AT, False: BEFORE}
_MODIFIED_CHOICES = {True: BEFORE, False: AT}
_truth = st.none() | st.booleans()


@given(_truth, _truth, _truth, _truth)
def test_read_conditions_follow_the_rfc_table(
    if_match: bool | None,
    if_unmodified: bool | None,
    if_none_match: bool | None,
    if_modified: bool | None,
) -> None:
    """Every combination of the four headers gives what RFC 7232's table says."""
    fields: dict[str, str] = {}
    if if_match is not None:
        fields["If_Match"] = _ETAG_CHOICES[if_match]
    if if_unmodified is not None:
        fields["If_Unmodified_Since"] = _UNMODIFIED_CHOICES[if_unmodified]
    if if_none_match is not None:
        # If-None-Match holds when the tag does NOT name the object.
        fields["If_None_Match"] = _ETAG_CHOICES[not if_none_match]
    if if_modified is not None:
        fields["If_Modified_Since"] = _MODIFIED_CHOICES[if_modified]
    expected = _rfc_table(if_match, if_unmodified, if_none_match, if_modified)
    if expected == 412:
        with pytest.raises(errors.PreconditionFailed):
            _read(**fields)
    else:
        assert _read(**fields) == expected


@given(instants, instants)
def test_if_modified_since_matches_second_truncated_comparison(
    last: dt.datetime, since: dt.datetime
) -> None:
    """If-Modified-Since is 304 exactly when Last-Modified (to the second) <= date."""
    headers = Headers.of({"If-Modified-Since": http_date(since)})
    result = evaluate_read_conditions(headers, etag=ETAG, last_modified=last)
    expected = (
        304 if last.replace(microsecond=0) <= since.replace(microsecond=0) else None
    )
    assert result == expected


# --- Copy-source conditions --------------------------------------------------------


def _copy(**fields: str) -> None:
    pairs = [
        ("x-amz-copy-source-" + name.replace("_", "-"), value)
        for name, value in fields.items()
    ]
    evaluate_copy_source_conditions(Headers.of(pairs), etag=ETAG, last_modified=LAST)


def test_copy_conditions_that_hold_proceed() -> None:
    """Holding copy-source conditions let the copy proceed."""
    _copy(if_match=ETAG, if_none_match='"other"', if_modified_since=BEFORE)
    _copy(if_unmodified_since=AFTER)


def test_copy_if_match_true_overrides_if_unmodified_since_false() -> None:
    """S3 CopyObject: if-match true and if-unmodified-since false copies."""
    _copy(if_match=ETAG, if_unmodified_since=BEFORE)


@pytest.mark.parametrize(
    ("fields", "condition"),
    [
        ({"if_match": '"other"'}, "x-amz-copy-source-if-match"),
        ({"if_unmodified_since": BEFORE}, "x-amz-copy-source-if-unmodified-since"),
        ({"if_none_match": ETAG}, "x-amz-copy-source-if-none-match"),
        (
            {"if_none_match": ETAG, "if_modified_since": BEFORE},
            "x-amz-copy-source-if-none-match",
        ),
        ({"if_modified_since": AFTER}, "x-amz-copy-source-if-modified-since"),
    ],
)
def test_copy_failures_are_all_precondition_failed(
    fields: dict[str, str], condition: str
) -> None:
    """Every failing copy-source condition is 412, never 304."""
    with pytest.raises(errors.PreconditionFailed) as caught:
        _copy(**fields)
    assert caught.value.extra == {"Condition": condition}
