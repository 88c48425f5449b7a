"""Tests for s3core.xml_out and s3core.xml_text: response shapes and key encoding."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_plus

import botocore.handlers
import botocore.parsers
import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from s3core import errors, xml_out
from s3core.models import BucketInfo, ObjectInfo, ObjectMeta
from s3core.xml_out import DeleteError, Owner
from s3core.xml_text import url_encode
from tests.strategies.xml import UTC, any_text, keys, object_infos, xml_text

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
OWNER = Owner("75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", "me")
WHEN = dt.datetime(2026, 11, 24, 12, 0, 0, 123_456, tzinfo=UTC)
OBJ = ObjectInfo(key="photos/a b.jpg", size=42, etag="abc123", last_modified=WHEN)


def parse(body: bytes) -> etree._Element:
    """Parse a response, checking the exact declaration S3 sends."""
    assert body.startswith(DECLARATION + b"\n")
    return etree.fromstring(body)


def find(root: etree._Element, path: str) -> list[str]:
    """Texts at ``path`` (``s3:``-prefixed names), ``""`` for empty elements."""
    return [e.text or "" for e in root.iterfind(path, {"s3": NS})]


def tags(element: etree._Element) -> list[str]:
    """Local names of an element's children, in order."""
    return [etree.QName(child).localname for child in element]


@functools.cache
def _boto_op(name: str) -> Any:
    return botocore.session.get_session().get_service_model("s3").operation_model(name)


def boto_parse(body: bytes, operation: str) -> dict[str, Any]:
    """What botocore's rest-xml parser makes of a response body."""
    parser = botocore.parsers.create_parser("rest-xml")
    response = {"body": body, "headers": {}, "status_code": 200}
    parsed: dict[str, Any] = parser.parse(response, _boto_op(operation).output_shape)
    return parsed


def v2(
    contents: Sequence[ObjectInfo] = (OBJ,),
    common_prefixes: Sequence[str] = (),
    **fields: Any,
) -> bytes:
    """list_objects_v2 with test defaults."""
    defaults: dict[str, Any] = {
        "bucket": "b",
        "prefix": "",
        "delimiter": None,
        "max_keys": 1000,
        "is_truncated": False,
    }
    return xml_out.list_objects_v2(
        contents=contents, common_prefixes=common_prefixes, **(defaults | fields)
    )


# --- Error --------------------------------------------------------------------------


def test_error_body_shape_and_order() -> None:
    """Error bodies are namespace-free: Code, Message, extras in order, then ids."""
    err = errors.InvalidRange(
        extra={"RangeRequested": "bytes=9-", "ActualObjectSize": "3"}
    )
    root = parse(
        xml_out.error_body(err, resource="/b/k", request_id="RID", host_id="HID")
    )
    assert root.tag == "Error"
    assert tags(root) == [
        "Code",
        "Message",
        "RangeRequested",
        "ActualObjectSize",
        "Resource",
        "RequestId",
        "HostId",
    ]
    assert [e.text for e in root] == [
        "InvalidRange",
        err.message,
        "bytes=9-",
        "3",
        "/b/k",
        "RID",
        "HID",
    ]


def test_error_body_carries_awkward_text() -> None:
    """Markup and control characters in a resource do not break the error body."""
    body = xml_out.error_body(errors.NoSuchKey(), resource="/b/<&>\x01", request_id="r")
    assert b"<Resource>/b/&lt;&amp;&gt;%01</Resource>" in body


# --- Buckets ------------------------------------------------------------------------


def test_list_buckets_shape() -> None:
    """ListAllMyBucketsResult has Owner then Buckets with Name and CreationDate."""
    buckets = [BucketInfo("a", OWNER.id, WHEN), BucketInfo("b", OWNER.id, WHEN)]
    root = parse(xml_out.list_buckets(buckets, OWNER))
    assert root.tag == f"{{{NS}}}ListAllMyBucketsResult"
    assert find(root, "s3:Owner/s3:ID") == [OWNER.id]
    assert find(root, "s3:Owner/s3:DisplayName") == ["me"]
    assert find(root, "s3:Buckets/s3:Bucket/s3:Name") == ["a", "b"]
    assert (
        find(root, "s3:Buckets/s3:Bucket/s3:CreationDate")
        == ["2026-11-24T12:00:00.000Z"] * 2
    )


def test_list_buckets_empty_keeps_the_buckets_element() -> None:
    """With no buckets the Buckets element is still sent, empty."""
    root = parse(xml_out.list_buckets([], OWNER))
    assert tags(root) == ["Owner", "Buckets"]
    assert len(root[1]) == 0


@pytest.mark.parametrize(
    ("region", "text"), [("us-east-1", ""), ("", ""), ("eu-west-1", "eu-west-1")]
)
def test_location_constraint(region: str, text: str) -> None:
    """GetBucketLocation is empty for us-east-1 and the region name otherwise."""
    root = parse(xml_out.location_constraint(region))
    assert root.tag == f"{{{NS}}}LocationConstraint"
    assert (root.text or "") == text


# --- Listing ------------------------------------------------------------------------


def test_list_objects_v2_shape() -> None:
    """ListObjectsV2 sends S3's fields; Owner only with fetch-owner."""
    root = parse(v2(common_prefixes=["p/"], delimiter="/", start_after="a"))
    assert root.tag == f"{{{NS}}}ListBucketResult"
    assert find(root, "s3:Name") == ["b"]
    assert find(root, "s3:Prefix") == [""]
    assert find(root, "s3:KeyCount") == ["2"]
    assert find(root, "s3:MaxKeys") == ["1000"]
    assert find(root, "s3:Delimiter") == ["/"]
    assert find(root, "s3:IsTruncated") == ["false"]
    assert find(root, "s3:StartAfter") == ["a"]
    assert find(root, "s3:EncodingType") == []
    assert find(root, "s3:ContinuationToken") == []
    (contents,) = root.iterfind("s3:Contents", {"s3": NS})
    assert tags(contents) == ["Key", "LastModified", "ETag", "Size", "StorageClass"]
    assert [e.text for e in contents] == [
        "photos/a b.jpg",
        "2026-11-24T12:00:00.000Z",
        '"abc123"',
        "42",
        "STANDARD",
    ]
    assert find(root, "s3:CommonPrefixes/s3:Prefix") == ["p/"]


def test_list_objects_v2_tokens_owner_and_truncation() -> None:
    """Tokens, KeyCount, truncation and fetch-owner's Owner appear as given."""
    root = parse(
        v2(
            is_truncated=True,
            continuation_token="t1",
            next_continuation_token="t2",
            key_count=7,
            owner=OWNER,
        )
    )
    assert find(root, "s3:ContinuationToken") == ["t1"]
    assert find(root, "s3:NextContinuationToken") == ["t2"]
    assert find(root, "s3:KeyCount") == ["7"]
    assert find(root, "s3:IsTruncated") == ["true"]
    assert find(root, "s3:Contents/s3:Owner/s3:ID") == [OWNER.id]


def test_list_objects_v2_lists_checksum_algorithms() -> None:
    """An object stored with checksums lists their algorithms."""
    info = ObjectInfo(
        key="k",
        size=1,
        etag="e",
        last_modified=WHEN,
        meta=ObjectMeta(checksums=(("CRC32", "AAAAAA=="),)),
    )
    root = parse(v2(contents=[info]))
    assert find(root, "s3:Contents/s3:ChecksumAlgorithm") == ["CRC32"]


def test_list_objects_v2_url_encoding_fields() -> None:
    """Under encoding-type=url, Key, Prefix, Delimiter, StartAfter and CommonPrefixes
    are encoded but tokens are not."""
    info = ObjectInfo(key="a b+c%/~", size=0, etag="e", last_modified=WHEN)
    root = parse(
        v2(
            contents=[info],
            common_prefixes=["p q/"],
            prefix="p q",
            delimiter=" ",
            start_after="é",
            continuation_token="a+b",
            encoding_type="url",
        )
    )
    assert find(root, "s3:EncodingType") == ["url"]
    assert find(root, "s3:Contents/s3:Key") == ["a+b%2Bc%25/%7E"]
    assert find(root, "s3:Prefix") == ["p+q"]
    assert find(root, "s3:Delimiter") == ["+"]
    assert find(root, "s3:StartAfter") == ["%C3%A9"]
    assert find(root, "s3:CommonPrefixes/s3:Prefix") == ["p+q/"]
    assert find(root, "s3:ContinuationToken") == ["a+b"]


def test_invalid_encoding_type_is_invalid_argument() -> None:
    """An encoding-type other than url is refused as S3 does."""
    with pytest.raises(errors.InvalidArgument) as caught:
        v2(encoding_type="base64")
    assert caught.value.extra == {
        "ArgumentName": "encoding-type",
        "ArgumentValue": "base64",
    }


@given(st.lists(object_infos, max_size=5), st.lists(keys, max_size=3), keys)
def test_botocore_reads_url_encoded_listing_back(
    contents: list[ObjectInfo], prefixes: list[str], prefix: str
) -> None:
    """boto3 decodes our url-encoded ListObjectsV2 into the original keys and sizes."""
    body = v2(
        contents=contents, common_prefixes=prefixes, prefix=prefix, encoding_type="url"
    )
    parsed = boto_parse(body, "ListObjectsV2")
    botocore.handlers.decode_list_object_v2(parsed, {"encoding_type_auto_set": True})
    assert parsed["Prefix"] == prefix
    got = [(o["Key"], o["Size"], o["ETag"]) for o in parsed.get("Contents", [])]
    assert got == [(i.key, i.size, f'"{i.etag}"') for i in contents]
    assert [p["Prefix"] for p in parsed.get("CommonPrefixes", [])] == prefixes
    assert all(o["LastModified"].tzinfo is not None for o in parsed.get("Contents", []))


def test_list_objects_v1_shape() -> None:
    """ListObjects v1 always sends Marker and Owner; NextMarker only when given."""
    root = parse(
        xml_out.list_objects_v1(
            bucket="b",
            prefix="",
            delimiter=None,
            marker="",
            max_keys=2,
            is_truncated=False,
            contents=[OBJ],
            common_prefixes=[],
            owner=OWNER,
        )
    )
    assert find(root, "s3:Marker") == [""]
    assert find(root, "s3:NextMarker") == []
    assert find(root, "s3:Delimiter") == []
    assert find(root, "s3:Contents/s3:Owner/s3:DisplayName") == ["me"]
    assert find(root, "s3:KeyCount") == []


def test_list_objects_v1_url_encodes_markers() -> None:
    """Under encoding-type=url v1 encodes Marker and NextMarker too."""
    body = xml_out.list_objects_v1(
        bucket="b",
        prefix="",
        delimiter="/",
        marker="m n",
        next_marker="x+y",
        max_keys=1,
        is_truncated=True,
        contents=[OBJ],
        common_prefixes=[],
        owner=OWNER,
        encoding_type="url",
    )
    parsed = boto_parse(body, "ListObjects")
    botocore.handlers.decode_list_object(parsed, {"encoding_type_auto_set": True})
    assert parsed["Marker"] == "m n"
    assert parsed["NextMarker"] == "x+y"
    assert parsed["Contents"][0]["Key"] == OBJ.key
    assert parsed["IsTruncated"] is True


def test_list_object_versions_shape() -> None:
    """Each object is one latest Version with VersionId null, and markers as S3."""
    body = xml_out.list_object_versions(
        bucket="b",
        prefix="",
        delimiter=None,
        key_marker="",
        version_id_marker="",
        max_keys=1,
        is_truncated=True,
        contents=[OBJ],
        common_prefixes=[],
        owner=OWNER,
        next_key_marker=OBJ.key,
        next_version_id_marker="null",
        encoding_type="url",
    )
    root = parse(body)
    assert root.tag == f"{{{NS}}}ListVersionsResult"
    assert find(root, "s3:KeyMarker") == [""]
    assert find(root, "s3:VersionIdMarker") == [""]
    assert find(root, "s3:NextKeyMarker") == ["photos/a+b.jpg"]
    assert find(root, "s3:NextVersionIdMarker") == ["null"]
    (version,) = root.iterfind("s3:Version", {"s3": NS})
    assert tags(version) == [
        "Key",
        "VersionId",
        "IsLatest",
        "LastModified",
        "ETag",
        "Size",
        "StorageClass",
        "Owner",
    ]
    parsed = boto_parse(body, "ListObjectVersions")
    botocore.handlers.decode_list_object_versions(
        parsed, {"encoding_type_auto_set": True}
    )
    assert parsed["NextKeyMarker"] == OBJ.key
    assert parsed["Versions"][0]["Key"] == OBJ.key
    assert parsed["Versions"][0]["VersionId"] == "null"
    assert parsed["Versions"][0]["IsLatest"] is True


# --- Keys XML cannot carry ----------------------------------------------------------


@given(xml_text)
def test_xml_carryable_keys_round_trip_unencoded(key: str) -> None:
    """Without encoding-type every XML 1.0 key, CR included, parses back exactly."""
    info = ObjectInfo(key=key, size=0, etag="e", last_modified=WHEN)
    root = parse(v2(contents=[info], prefix=key))
    assert find(root, "s3:Contents/s3:Key") == [key]
    assert find(root, "s3:Prefix") == [key]


def test_control_characters_become_character_references() -> None:
    """A key with characters XML 1.0 lacks is sent as S3 does, not refused."""
    info = ObjectInfo(key="a\x00b\x1f\ufffe", size=0, etag="e", last_modified=WHEN)
    body = v2(contents=[info])
    assert b"<Key>a&#0;b&#31;&#65534;</Key>" in body
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)


@given(any_text)
def test_any_key_serialises(key: str) -> None:
    """No key makes a listing fail, with or without encoding-type."""
    info = ObjectInfo(key=key, size=0, etag="e", last_modified=WHEN)
    assert v2(contents=[info]).startswith(DECLARATION)
    parse(v2(contents=[info], encoding_type="url"))


# --- URL encoding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a+b"),
        ("a+b", "a%2Bb"),
        ("100%", "100%25"),
        ("dir/sub/", "dir/sub/"),
        ("~*-_.", "%7E*-_."),
        ("\x01\n", "%01%0A"),
        ("é", "%C3%A9"),
        ("&<>\"'", "%26%3C%3E%22%27"),
    ],
)
def test_url_encode_examples(raw: str, encoded: str) -> None:
    """url_encode writes spaces as +, keeps / and escapes + and %."""
    assert url_encode(raw) == encoded


@given(any_text)
def test_url_encode_round_trips_through_unquote_plus(key: str) -> None:
    """boto3's unquote_plus turns our encoding back into the original text."""
    assert unquote_plus(url_encode(key)) == key


@given(any_text)
def test_url_encode_output_is_plain_ascii(key: str) -> None:
    """Encoded text holds only unreserved ASCII, / , *, + and %XX escapes."""
    encoded = url_encode(key)
    assert encoded.isascii()
    assert all(c.isalnum() or c in "-_.*/+%" for c in encoded)


# --- Delete, copy, multipart --------------------------------------------------------


def test_delete_result_lists_deleted_and_errors() -> None:
    """DeleteResult has Deleted (with VersionId when given) and Error entries."""
    failure = DeleteError.of("c", errors.AccessDenied(), version_id="v9")
    root = parse(xml_out.delete_result([("a", None), ("b", "v1")], [failure], False))
    assert root.tag == f"{{{NS}}}DeleteResult"
    assert tags(root) == ["Deleted", "Deleted", "Error"]
    assert tags(root[0]) == ["Key"]
    assert [e.text for e in root[1]] == ["b", "v1"]
    assert [e.text for e in root[2]] == ["c", "v9", "AccessDenied", "Access Denied"]
    assert tags(root[2]) == ["Key", "VersionId", "Code", "Message"]


def test_delete_result_quiet_omits_deleted() -> None:
    """In quiet mode only errors are reported."""
    failure = DeleteError(key="c", code="InternalError", message="oops")
    root = parse(xml_out.delete_result([("a", None)], [failure], True))
    assert tags(root) == ["Error"]
    assert tags(root[0]) == ["Key", "Code", "Message"]


def test_copy_results() -> None:
    """CopyObjectResult and CopyPartResult carry LastModified and a quoted ETag."""
    for body, name in [
        (xml_out.copy_object_result("abc", WHEN), "CopyObjectResult"),
        (xml_out.copy_part_result("abc", WHEN), "CopyPartResult"),
    ]:
        root = parse(body)
        assert root.tag == f"{{{NS}}}{name}"
        assert [e.text for e in root] == ["2026-11-24T12:00:00.000Z", '"abc"']


def test_multipart_results() -> None:
    """Initiate and Complete results carry their fields in S3's order."""
    root = parse(xml_out.initiate_multipart_upload("b", "k", "u1"))
    assert root.tag == f"{{{NS}}}InitiateMultipartUploadResult"
    assert [(t, e.text) for t, e in zip(tags(root), root, strict=True)] == [
        ("Bucket", "b"),
        ("Key", "k"),
        ("UploadId", "u1"),
    ]
    root = parse(xml_out.complete_multipart_upload("http://h/b/k", "b", "k", "abc-2"))
    assert tags(root) == ["Location", "Bucket", "Key", "ETag"]
    assert root[3].text == '"abc-2"'
