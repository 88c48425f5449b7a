"""Tests for s3core.xml_in: request bodies parsed safely or refused as MalformedXML."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from lxml.builder import ElementMaker

from s3core import errors
from s3core.xml_in import (
    CompletedPart,
    DeleteRequest,
    ObjectIdentifier,
    parse_complete_multipart,
    parse_create_bucket_configuration,
    parse_delete,
)
from tests.strategies.xml import xml_text

NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def delete_body(*keys: str, quiet: str | None = None, ns: bool = True) -> bytes:
    """A Delete document built with lxml, as an SDK would send it."""
    maker = ElementMaker(namespace=NS, nsmap={None: NS}) if ns else ElementMaker()
    quiet_elements = [] if quiet is None else [maker.Quiet(quiet)]
    objects = [maker.Object(maker.Key(key)) for key in keys]
    return etree.tostring(maker.Delete(*quiet_elements, *objects), xml_declaration=True)


# --- Hardening ----------------------------------------------------------------------


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Delete><Object><Key>&lol9;</Key></Object></Delete>"""


def test_entity_bomb_is_refused() -> None:
    """A billion-laughs body is MalformedXML, not a gigabyte of memory."""
    with pytest.raises(errors.MalformedXML):
        parse_delete(BILLION_LAUGHS)


def test_external_entity_is_refused_unread(tmp_path: Path) -> None:
    """An external entity is MalformedXML and the file it names never leaks."""
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<Delete><Object><Key>&x;</Key></Object></Delete>"
    ).encode()
    with pytest.raises(errors.MalformedXML) as caught:
        parse_delete(body)
    assert "top-secret" not in str(caught.value)


def test_doctype_hidden_by_another_encoding_is_refused() -> None:
    """A DOCTYPE in a UTF-16 body, invisible to a byte scan, is still refused."""
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        "<!DOCTYPE Delete [<!ELEMENT Delete ANY>]>"
        "<Delete><Object><Key>k</Key></Object></Delete>"
    )
    body = text.encode("utf-16")
    assert b"<!DOCTYPE" not in body
    with pytest.raises(errors.MalformedXML):
        parse_delete(body)


def test_undeclared_entity_is_malformed() -> None:
    """A reference to an undeclared entity is not well-formed."""
    with pytest.raises(errors.MalformedXML):
        parse_delete(b"<Delete><Object><Key>&x;</Key></Object></Delete>")


def test_body_over_the_limit_is_refused() -> None:
    """A body larger than the limit is refused before parsing."""
    body = delete_body("k")
    assert parse_delete(body, limit=len(body)).objects == (ObjectIdentifier("k"),)
    with pytest.raises(errors.MalformedXML):
        parse_delete(body, limit=len(body) - 1)


@pytest.mark.parametrize(
    "body",
    [b"not xml", b"<Delete>", b"<Delete></Del>", b"\xff\xfe\x00", b"<a/><b/>"],
)
def test_garbage_is_malformed(body: bytes) -> None:
    """Bytes that are not one well-formed document are MalformedXML."""
    with pytest.raises(errors.MalformedXML):
        parse_delete(body)


@given(st.binary(max_size=200))
def test_parsers_only_ever_raise_malformed_xml(body: bytes) -> None:
    """Arbitrary bytes give a value or MalformedXML, never another exception."""
    for parse in (
        parse_delete,
        parse_complete_multipart,
        parse_create_bucket_configuration,
    ):
        with contextlib.suppress(errors.MalformedXML):
            parse(body)


# --- CreateBucketConfiguration ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", None),
        (b"  \n", None),
        (
            f'<CreateBucketConfiguration xmlns="{NS}"><LocationConstraint>'
            "eu-west-1</LocationConstraint></CreateBucketConfiguration>".encode(),
            "eu-west-1",
        ),
        (
            b"<CreateBucketConfiguration><LocationConstraint> us-west-2 "
            b"</LocationConstraint></CreateBucketConfiguration>",
            "us-west-2",
        ),
        (
            b"<CreateBucketConfiguration><LocationConstraint/>"
            b"</CreateBucketConfiguration>",
            "",
        ),
        (b"<CreateBucketConfiguration/>", None),
    ],
)
def test_create_bucket_configuration(body: bytes, expected: str | None) -> None:
    """The LocationConstraint is read with or without namespace; absent is None."""
    assert parse_create_bucket_configuration(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"<Other><LocationConstraint>x</LocationConstraint></Other>",
        b"<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
        b"<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><LocationConstraint><x/></LocationConstraint>"
        b"</CreateBucketConfiguration>",
    ],
)
def test_create_bucket_configuration_malformed(body: bytes) -> None:
    """A wrong root, a repeated or a nested LocationConstraint is MalformedXML."""
    with pytest.raises(errors.MalformedXML):
        parse_create_bucket_configuration(body)


# --- Delete -------------------------------------------------------------------------


def test_parse_delete_reads_objects_quiet_and_versions() -> None:
    """Keys, version ids and Quiet are read, in document order."""
    body = (
        f'<Delete xmlns="{NS}"><Quiet>true</Quiet>'
        "<Object><Key>a</Key></Object>"
        "<Object><Key>b</Key><VersionId>null</VersionId><ETag>x</ETag></Object>"
        "</Delete>"
    ).encode()
    assert parse_delete(body) == DeleteRequest(
        quiet=True,
        objects=(ObjectIdentifier("a"), ObjectIdentifier("b", "null")),
    )


@pytest.mark.parametrize(
    ("quiet", "expected"),
    [(None, False), ("true", True), ("false", False), ("True", True), ("0", False)],
)
def test_parse_delete_quiet_values(quiet: str | None, expected: bool) -> None:
    """Quiet is an xs:boolean and defaults to false."""
    assert parse_delete(delete_body("k", quiet=quiet)).quiet is expected


def test_parse_delete_bad_quiet_is_malformed() -> None:
    """A Quiet that is not a boolean is MalformedXML."""
    with pytest.raises(errors.MalformedXML):
        parse_delete(delete_body("k", quiet="yes"))


def test_parse_delete_keeps_keys_exactly() -> None:
    """Whitespace, CR, markup characters and CDATA in keys survive as sent."""
    assert parse_delete(delete_body(" a\r\n<&> ")).objects[0].key == " a\r\n<&> "
    body = b"<Delete><Object><Key><![CDATA[x<y]]></Key></Object></Delete>"
    assert parse_delete(body).objects[0].key == "x<y"


@given(st.lists(xml_text, min_size=1, max_size=20), st.booleans())
def test_parse_delete_round_trips_any_keys(keys: list[str], ns: bool) -> None:
    """Any XML-expressible keys come back exactly, with or without namespace."""
    request = parse_delete(delete_body(*keys, ns=ns))
    assert [o.key for o in request.objects] == keys


def test_parse_delete_thousand_objects_is_the_limit() -> None:
    """1000 objects are accepted; 1001 and none are MalformedXML."""
    assert (
        len(parse_delete(delete_body(*(str(i) for i in range(1000)))).objects) == 1000
    )
    with pytest.raises(errors.MalformedXML):
        parse_delete(delete_body(*(str(i) for i in range(1001))))
    with pytest.raises(errors.MalformedXML):
        parse_delete(delete_body())


def test_parse_delete_full_size_keys_fit_the_default_limit() -> None:
    """1000 keys of 1024 bytes fit under the default body limit."""
    body = delete_body(*(f"{i:04d}" + "k" * 1020 for i in range(1000)))
    assert len(body) > 1024 * 1024
    assert len(parse_delete(body).objects) == 1000


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        b"<Delete><Object><Key>a<b/></Key></Object></Delete>",
        b"<Remove><Object><Key>a</Key></Object></Remove>",
    ],
)
def test_parse_delete_malformed_objects(body: bytes) -> None:
    """A missing, repeated or nested Key, or a wrong root, is MalformedXML."""
    with pytest.raises(errors.MalformedXML):
        parse_delete(body)


def test_comments_and_processing_instructions_are_dropped() -> None:
    """Comments and PIs inside a key do not split or alter it."""
    body = b"<Delete><Object><Key>a<!-- c -->b<?pi x?>c</Key></Object></Delete>"
    assert parse_delete(body).objects[0].key == "abc"


# --- CompleteMultipartUpload ------------------------------------------------------


def complete_body(*parts: tuple[str, str | None]) -> bytes:
    """A CompleteMultipartUpload document from (PartNumber, ETag or None) pairs."""
    maker = ElementMaker(namespace=NS, nsmap={None: NS})
    elements = [
        maker.Part(
            maker.PartNumber(number), *([] if etag is None else [maker.ETag(etag)])
        )
        for number, etag in parts
    ]
    return etree.tostring(maker.CompleteMultipartUpload(*elements))


def test_parse_complete_multipart_reads_parts() -> None:
    """Parts come back in document order with bare ETags and their checksums."""
    body = (
        b"<CompleteMultipartUpload>"
        b'<Part><ETag>"e2"</ETag><PartNumber>2</PartNumber></Part>'
        b"<Part><PartNumber> 1 </PartNumber><ETag>e1</ETag>"
        b"<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"
        b"</CompleteMultipartUpload>"
    )
    assert parse_complete_multipart(body) == (
        CompletedPart(part_number=2, etag="e2"),
        CompletedPart(part_number=1, etag="e1", checksums=(("CRC32", "AAAAAA=="),)),
    )


@pytest.mark.parametrize(
    "number", ["0", "10001", "-1", "+1", "1.0", "abc", "", "\u0661"]
)
def test_parse_complete_multipart_bad_part_numbers(number: str) -> None:
    """A part number that is not an integer from 1 to 10000 is MalformedXML."""
    with pytest.raises(errors.MalformedXML):
        parse_complete_multipart(complete_body((number, '"e"')))


def test_parse_complete_multipart_needs_parts_and_etags() -> None:
    """No parts, or a part without ETag or PartNumber, is MalformedXML."""
    for body in [
        complete_body(),
        complete_body(("1", None)),
        b"<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
    ]:
        with pytest.raises(errors.MalformedXML):
            parse_complete_multipart(body)


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=50))
def test_parse_complete_multipart_round_trips_numbers(numbers: list[int]) -> None:
    """Any list of valid part numbers is read back as sent."""
    body = complete_body(*((str(n), f'"etag{n}"') for n in numbers))
    parts = parse_complete_multipart(body)
    assert [(p.part_number, p.etag) for p in parts] == [
        (n, f"etag{n}") for n in numbers
    ]
