"""Range and conditional-request evaluation for reads and copies, as pure functions.

This module owns what the ``Range``, ``If-Match``, ``If-None-Match``,
``If-Modified-Since`` and ``If-Unmodified-Since`` headers (and their
``x-amz-copy-source-if-*`` twins on CopyObject / UploadPartCopy) mean for one object:
which bytes to send, and whether to answer 412 or 304 instead. It sees only header
values, the object's bare ETag, size and last-modified time; it must not open objects,
read the clock or build responses. Conditions on writes (``If-None-Match: *`` on
PutObject) are checked atomically by backends through ``models.WriteCondition``, not
here.
"""

from __future__ import annotations

import datetime as dt
import enum
import re

import attrs

from s3core import errors
from s3core.http import Headers
from s3core.timefmt import parse_http_date

__all__ = [
    "ByteRange",
    "evaluate_copy_source_conditions",
    "evaluate_read_conditions",
    "parse_range",
]

# RFC 7233 section 2.1: byte-range-spec = first-byte-pos "-" [ last-byte-pos ];
# suffix-byte-range-spec = "-" suffix-length; positions are 1*DIGIT. Range units are
# case-insensitive (RFC 9110 section 14.1). Exactly one spec: a list is not matched.
_RANGE = re.compile(
    r"bytes=[ \t]*(?:(?P<first>[0-9]+)-(?P<last>[0-9]*)|-(?P<suffix>[0-9]+))[ \t]*",
    re.IGNORECASE,
)


@attrs.frozen
class ByteRange:
    """A satisfiable byte range of an object, both ends inclusive."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The ``Content-Range`` value for a 206 answer: ``bytes 0-9/100``."""
        return f"bytes {self.start}-{self.end}/{size}"


def _unsatisfiable(header: str, size: int) -> errors.InvalidRange:
    """S3's 416: its error body names the range asked for and the object's size."""
    return errors.InvalidRange(
        extra={"RangeRequested": header, "ActualObjectSize": str(size)},
        # RFC 7233 section 4.4: a 416 "SHOULD generate a Content-Range header field
        # specifying the current length of the selected representation".
        headers={"Content-Range": f"bytes */{size}"},
    )


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The byte range a ``Range`` header asks of an object of ``size`` bytes.

    Args:
        header: the ``Range`` header value, or ``None`` when absent.
        size: the object's length in bytes.

    Returns:
        The range to send with 206, or ``None`` to send the whole object with 200:
        when there is no header, and when the header is not one valid byte range.
        S3 "doesn't support retrieving multiple ranges of data per GET request" and,
        like RFC 7233 section 3.1 allows ("A server MAY ignore the Range header
        field"), answers a multi-range, malformed or non-``bytes`` Range with the
        whole object and 200 rather than an error.

    Raises:
        InvalidRange: the range is valid but unsatisfiable (416): its first byte is
            at or past the end (every range of an empty object is), or it is the
            suffix ``-0``. The error carries ``RangeRequested`` and
            ``ActualObjectSize`` as S3's body does.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    if match["suffix"] is not None:
        suffix = int(match["suffix"])
        # RFC 7233 section 2.1: a suffix range with a zero suffix-length is
        # unsatisfiable; S3 also refuses every range on an empty object.
        if suffix == 0 or size == 0:
            raise _unsatisfiable(header, size)
        # "If the selected representation is shorter than the specified
        # suffix-length, the entire representation is used."
        return ByteRange(max(size - suffix, 0), size - 1)
    first = int(match["first"])
    last = int(match["last"]) if match["last"] else None
    if last is not None and last < first:
        # RFC 7233 section 2.1: "If the last-byte-pos value is present, it MUST be
        # greater than or equal to the first-byte-pos ... the byte-range-spec is
        # invalid", and an invalid Range is ignored (S3 sends the whole object).
        return None
    if first >= size:
        raise _unsatisfiable(header, size)
    # "If the last-byte-pos value is absent, or if the value is greater than or equal
    # to the current length of the representation data, the byte range is
    # interpreted as the remainder of the representation".
    end = size - 1 if last is None else min(last, size - 1)
    return ByteRange(first, end)


def _etag_list(value: str) -> list[str]:
    """The bare tags of an ``If-Match`` / ``If-None-Match`` value (``*`` kept as is).

    Clients differ, so quotes are optional and a weak ``W/`` prefix is dropped: our
    ETags are all strong, and S3 documents no difference between the two forms.
    """
    tags = []
    for item in value.split(","):
        tag = item.strip()
        if tag[:2] in ("W/", "w/"):
            tag = tag[2:]
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag:
            tags.append(tag)
    return tags


def _etag_matches(value: str, etag: str) -> bool:
    """Whether an entity-tag list names the existing object with bare ``etag``."""
    tags = _etag_list(value)
    # RFC 7232 sections 3.1 and 3.2: "*" matches any current representation; we are
    # only ever asked about an object that exists.
    return "*" in tags or etag.strip('"') in tags


def _header(headers: Headers, name: str) -> str | None:
    """A header's value, ``None`` when absent or blank (a blank value is ignored)."""
    value = headers.get(name)
    if value is None or not value.strip():
        return None
    return value


class _Outcome(enum.Enum):
    """What a failed precondition asks for."""

    PRECONDITION_FAILED = 412
    NOT_MODIFIED = 304


def _evaluate(
    headers: Headers, names: tuple[str, str, str, str], etag: str, last: dt.datetime
) -> tuple[_Outcome, str] | None:
    """RFC 7232 section 6's steps 1-4 over the four header ``names``.

    ``names`` are (if-match, if-unmodified-since, if-none-match, if-modified-since).
    Returns the outcome and the header that decided it, or ``None`` to proceed.
    """
    if_match, if_unmodified, if_none_match, if_modified = names
    # Last-Modified is sent with whole seconds, so a client echoing it back must
    # compare equal: compare at second resolution.
    last = last.replace(microsecond=0)
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    match_value = _header(headers, if_match)
    # Step 1: "When recipient is the origin server and If-Match is present, evaluate
    # the If-Match precondition: if true, continue to step 3; if false, respond 412".
    if match_value is not None:
        if not _etag_matches(match_value, etag):
            return _Outcome.PRECONDITION_FAILED, if_match
    else:
        # Step 2: "When recipient is the origin server, If-Match is not present, and
        # If-Unmodified-Since is present, evaluate ...: if true, continue to step 3;
        # if false, respond 412". S3: If-Match true + If-Unmodified-Since false -> 200.
        since = _date(headers, if_unmodified)
        if since is not None and last > since:
            return _Outcome.PRECONDITION_FAILED, if_unmodified
    none_match_value = _header(headers, if_none_match)
    # Step 3: "When If-None-Match is present, evaluate the If-None-Match precondition:
    # if false for GET/HEAD, respond 304 (Not Modified)".
    if none_match_value is not None:
        if _etag_matches(none_match_value, etag):
            return _Outcome.NOT_MODIFIED, if_none_match
    else:
        # Step 4: "When the method is GET or HEAD, If-None-Match is not present, and
        # If-Modified-Since is present, evaluate ...: if false, respond 304". S3:
        # If-None-Match false + If-Modified-Since true -> 304 (decided at step 3).
        since = _date(headers, if_modified)
        if since is not None and last <= since:
            return _Outcome.NOT_MODIFIED, if_modified
    return None


def _date(headers: Headers, name: str) -> dt.datetime | None:
    """A date header's instant; ``None`` when absent or not a valid HTTP-date.

    RFC 7232 sections 3.3 and 3.4: "A recipient MUST ignore the If-Modified-Since
    header field if the received field-value is not a valid HTTP-date" (likewise
    If-Unmodified-Since).
    """
    value = headers.get(name)
    return None if value is None else parse_http_date(value)


_READ_HEADERS = (
    "If-Match",
    "If-Unmodified-Since",
    "If-None-Match",
    "If-Modified-Since",
)
_COPY_HEADERS = (
    "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-unmodified-since",
    "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-modified-since",
)


def evaluate_read_conditions(
    headers: Headers, *, etag: str, last_modified: dt.datetime
) -> int | None:
    """Evaluate a GET/HEAD's conditional headers against the object it names.

    Follows RFC 7232 section 6's order, which is the precedence S3 documents for
    GetObject and HeadObject. Entity tags may be quoted or not, weak or not, and
    comma-separated; ``*`` matches the (existing) object. Dates are compared at
    whole-second resolution; unparseable dates are ignored.

    Args:
        headers: the request headers.
        etag: the object's bare ETag.
        last_modified: the object's last-modified time.

    Returns:
        ``304`` when the client's copy is current (If-None-Match or
        If-Modified-Since), else ``None`` to proceed with the read.

    Raises:
        PreconditionFailed: If-Match, or If-Unmodified-Since without If-Match, does
            not hold (412, with ``Condition`` naming the header as S3 does).
    """
    outcome = _evaluate(headers, _READ_HEADERS, etag, last_modified)
    if outcome is None:
        return None
    result, condition = outcome
    if result is _Outcome.PRECONDITION_FAILED:
        raise errors.PreconditionFailed(extra={"Condition": condition})
    return int(result.value)


def evaluate_copy_source_conditions(
    headers: Headers, *, etag: str, last_modified: dt.datetime
) -> None:
    """Evaluate CopyObject / UploadPartCopy's ``x-amz-copy-source-if-*`` headers.

    Same precedence as reads (S3's CopyObject docs: if-match true + if-unmodified-
    since false copies; if-none-match false + if-modified-since true fails), but
    every failure is 412: a copy has no "not modified" answer.

    Args:
        headers: the request headers.
        etag: the source object's bare ETag.
        last_modified: the source object's last-modified time.

    Raises:
        PreconditionFailed: a copy-source condition does not hold (412, with
            ``Condition`` naming the header).
    """
    outcome = _evaluate(headers, _COPY_HEADERS, etag, last_modified)
    if outcome is not None:
        raise errors.PreconditionFailed(extra={"Condition": outcome[1]})
