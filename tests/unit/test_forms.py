"""The multipart/form-data reader: any well-formed form round-trips, memory bounded."""

from __future__ import annotations

import io

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from urllib3.filepost import encode_multipart_formdata

from s3core import errors
from s3core.forms import MultipartReader, PartHeaders, form_boundary

_names = st.from_regex(r"[A-Za-z0-9_.-][A-Za-z0-9_. -]{0,15}", fullmatch=True)
_boundaries = st.from_regex(r"[0-9A-Za-z'()+_,./:=?-]{1,69}[0-9A-Za-z]", fullmatch=True)
_values = st.binary(max_size=300) | st.sampled_from(
    [b"", b"\r\n", b"--", b"\r\n-", b"\r\n--", b"a\r\n\r\nb"]
)


def _parts(
    reader: MultipartReader, limit: int = 10**6
) -> list[tuple[PartHeaders, bytes]]:
    out = []
    while (part := reader.next_part()) is not None:
        value = reader.read_all(limit)
        assert value is not None
        out.append((part, value))
    return out


class _Trickle:
    """A body handing out at most ``step`` bytes per read, counting what it gave."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self.given = 0

    def read(self, n: int = -1, /) -> bytes:
        chunk = self._data.read(min(n, self._step) if n >= 0 else self._step)
        self.given += len(chunk)
        return chunk


@given(
    fields=st.lists(
        st.tuples(_names, st.none() | _names, _values), min_size=1, max_size=6
    ),
    boundary=_boundaries,
    chunk=st.integers(min_value=1, max_value=97),
    step=st.integers(min_value=1, max_value=97),
)
def test_urllib3_forms_round_trip(
    fields: list[tuple[str, str | None, bytes]], boundary: str, chunk: int, step: int
) -> None:
    """Whatever urllib3 encodes reads back part by part, for any read sizes."""
    delimiter = b"\r\n--" + boundary.encode()
    assume(not any(delimiter in b"\r\n" + value for _, _, value in fields))
    encoded = [
        (name, (filename, value, "application/x-test") if filename else value)
        for name, filename, value in fields
    ]
    body, content_type = encode_multipart_formdata(encoded, boundary=boundary)
    assert form_boundary(content_type) == boundary
    reader = MultipartReader(_Trickle(body, step), boundary, chunk_size=chunk)
    got = _parts(reader)
    assert [(p.name, p.filename, v) for p, v in got] == [
        (name, filename, value) for name, filename, value in fields
    ]
    assert all(
        p.content_type == ("application/x-test" if p.filename else None) for p, _ in got
    )


def _form(*parts: bytes, boundary: bytes = b"B0und") -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary + b"--\r\n"


def _field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def test_large_part_streams_without_reading_ahead() -> None:
    """A 16 MiB part is read chunk by chunk: the body is never read far ahead."""
    size = 16 * 1024 * 1024
    body = _Trickle(_form(_field("file", b"x" * size)), step=1 << 30)
    reader = MultipartReader(body, "B0und", chunk_size=64 * 1024)
    assert reader.next_part() == PartHeaders(name="file")
    total = 0
    while data := reader.read(64 * 1024):
        total += len(data)
        # What was taken from the body is what was handed on, plus at most two
        # buffers of look-ahead (one read and a possible delimiter prefix).
        assert body.given - total <= 2 * 64 * 1024 + 100
    assert total == size
    assert reader.next_part() is None


def test_preamble_padding_and_epilogue_are_ignored() -> None:
    """Text before the first delimiter, blanks after one and text after the close."""
    body = (
        b"preamble\r\n--B0und  \t\r\n"
        + _field("a", b"1")
        + b"\r\n--B0und\r\n"
        + _field("b", b"2")
        + b"\r\n--B0und--epilogue\r\n--B0und\r\n"
    )
    reader = MultipartReader(io.BytesIO(body), "B0und")
    assert [(p.name, v) for p, v in _parts(reader)] == [("a", b"1"), ("b", b"2")]


def test_disposition_parameters() -> None:
    """Quoted escapes, unquoted tokens and RFC 5987 filename* are understood."""
    part = (
        b'Content-Disposition: form-data; name=file; filename="a \\"b\\".txt"; '
        b"filename*=UTF-8''%C3%A9t%C3%A9.txt\r\nContent-Type: text/plain\r\n\r\nx"
    )
    reader = MultipartReader(io.BytesIO(_form(part)), "B0und")
    assert reader.next_part() == PartHeaders(
        name="file", filename="été.txt", content_type="text/plain"
    )


def test_read_all_stops_past_its_limit() -> None:
    """read_all gives None once a value passes the limit, reading no further."""
    reader = MultipartReader(io.BytesIO(_form(_field("a", b"12345"))), "B0und")
    reader.next_part()
    assert reader.read_all(4) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"--B0und\r\n" + _field("a", b"no end"),
        b"--B0und\r\nContent-Type: text/plain\r\n\r\nx\r\n--B0und--",
        b"--B0und\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--B0und--",
        b"--B0und\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B0und--",
        b"--B0und\r\nno colon here\r\n\r\nx\r\n--B0und--",
        b"--B0und garbage\r\n" + _field("a", b"1") + b"\r\n--B0und--",
        b"--B0und\r\nX: " + b"y" * 20000 + b"\r\n\r\n",
        b"--B0und\r\nContent-Disposition: form-data; name=\xff\r\n\r\nx\r\n--B0und--",
    ],
    ids=[
        "empty",
        "unterminated",
        "no-disposition",
        "not-form-data",
        "no-name",
        "bad-header-line",
        "junk-after-delimiter",
        "huge-headers",
        "not-utf8",
    ],
)
def test_malformed_bodies_are_malformed_post_request(body: bytes) -> None:
    """A body that is not well-formed multipart: MalformedPOSTRequest 400."""
    reader = MultipartReader(io.BytesIO(body), "B0und", chunk_size=7)
    with pytest.raises(errors.MalformedPOSTRequest) as info:
        _parts(reader)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("multipart/form-data; boundary=abc", "abc"),
        ('Multipart/Form-Data; charset=utf-8; boundary="a b:c"', "a b:c"),
        ("multipart/mixed; boundary=abc", None),
        ("application/x-www-form-urlencoded", None),
        ("multipart/form-data", None),
        ("multipart/form-data; boundary=" + "a" * 71, None),
        (None, None),
    ],
)
def test_form_boundary(content_type: str | None, expected: str | None) -> None:
    """Only multipart/form-data with an RFC 2046 boundary yields one."""
    assert form_boundary(content_type) == expected
