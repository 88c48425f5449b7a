"""Error documents stay well-formed XML 1.0 whatever key or resource they name.

A key may hold characters XML 1.0 has no place for (U+0001, U+FFFE, a lone
surrogate). In an error body they are sent percent-encoded as UTF-8, so that a strict
parser (lxml, botocore) still reads Code and Message; listings are unchanged (they
have ``encoding-type=url`` for such keys).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from urllib.parse import unquote

import botocore.parsers
import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from s3core import errors, xml_out
from s3core.models import ObjectInfo

# Strict: no recovery, so an ill-formed document raises instead of being repaired.
STRICT = etree.XMLParser(recover=False, resolve_entities=False)
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def no_such_key(key: str) -> bytes:
    """The NoSuchKey body GetObject of ``key`` in bucket ``b`` answers."""
    return xml_out.error_body(
        errors.NoSuchKey(extra={"Key": key}), resource=f"/b/{key}", request_id="RID"
    )


def fields(body: bytes) -> dict[str, str]:
    """Parse ``body`` strictly; element name -> text of the ``<Error>`` children."""
    assert body.startswith(DECLARATION)
    root = etree.fromstring(body, STRICT)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


@pytest.mark.parametrize(
    ("key", "sent"),
    [
        ("\x01", "%01"),
        ("a\x00b", "a%00b"),
        ("ctl\x01\x02\x1b\x1f", "ctl%01%02%1B%1F"),
        ("\x08\x0b\x0c\x0e", "%08%0B%0C%0E"),
        ("x\ufffe\uffffy", "x%EF%BF%BE%EF%BF%BFy"),
        ("lone\ud800", "lone%ED%A0%80"),  # a surrogate no decoder made
        ("byte\udcff", "byte%FF"),  # surrogateescape of the byte 0xFF
        ("%20+ \x01", "%20+ %01"),  # "%" itself is left alone
    ],
)
def test_characters_xml_cannot_hold_are_percent_encoded(key: str, sent: str) -> None:
    """Key and Resource carry the UTF-8 percent form; the document parses strictly."""
    got = fields(no_such_key(key))
    assert got["Code"] == "NoSuchKey"
    assert got["Message"] == errors.NoSuchKey.default_message
    assert got["Key"] == sent
    assert got["Resource"] == f"/b/{sent}"


@pytest.mark.parametrize(
    "key",
    ["tab\tline\nreturn\r", "<&>\"'", "caf\u00e9", "\U0001f600", "\x7f", "\ud7ff"],
)
def test_xml_characters_are_sent_as_they_are(key: str) -> None:
    """Characters XML 1.0 holds (CR, markup, non-BMP, DEL) come back exactly."""
    got = fields(no_such_key(key))
    assert (got["Key"], got["Resource"]) == (key, f"/b/{key}")


def test_every_error_field_is_cleaned() -> None:
    """Message, extras and ids are made well-formed too, not only Key."""
    err = errors.InvalidArgument(
        "bad \x02 value", extra={"ArgumentName": "x-amz-\x03", "ArgumentValue": "\x04"}
    )
    body = xml_out.error_body(err, resource="/\x05", request_id="r\x06", host_id="\x07")
    assert fields(body) == {
        "Code": "InvalidArgument",
        "Message": "bad %02 value",
        "ArgumentName": "x-amz-%03",
        "ArgumentValue": "%04",
        "Resource": "/%05",
        "RequestId": "r%06",
        "HostId": "%07",
    }


# Any code point, lone surrogates included (Hypothesis leaves them out by default).
every_char = st.characters(codec=None, exclude_categories=())


@given(st.text(every_char, max_size=40))
def test_any_key_gives_a_well_formed_error(key: str) -> None:
    """Every key makes a strictly parseable error; decoding it gives the key back."""
    got = fields(no_such_key(key))
    assert got["Code"] == "NoSuchKey"
    if "%" not in key and not any("\ud800" <= c <= "\udfff" for c in key):
        assert unquote(got["Key"], errors="strict") == key


@functools.cache
def _get_object_output() -> Any:
    model = botocore.session.get_session().get_service_model("s3")
    return model.operation_model("GetObject").output_shape


@pytest.mark.parametrize("key", ["\x01", "ctl\x01\x02\x1b\x1f", "a\x00b\ufffe"])
def test_botocore_reads_the_code(key: str) -> None:
    """botocore's rest-xml parser finds Code and Message (not just the status)."""
    parser = botocore.parsers.create_parser("rest-xml")
    response = {"body": no_such_key(key), "headers": {}, "status_code": 404}
    parsed = parser.parse(response, _get_object_output())
    assert parsed["Error"]["Code"] == "NoSuchKey"
    assert parsed["Error"]["Message"] == errors.NoSuchKey.default_message


def test_listings_still_use_character_references() -> None:
    """Listings are unchanged: without encoding-type a U+0001 is a reference."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    info = ObjectInfo(key="a\x01", size=0, etag="e", last_modified=when)
    body = xml_out.list_objects_v2(
        bucket="b",
        prefix="",
        delimiter=None,
        max_keys=1000,
        is_truncated=False,
        contents=[info],
        common_prefixes=[],
    )
    assert b"<Key>a&#1;</Key>" in body
