"""Request bodies: a hardened lxml parser and one reader per S3 request document.

This module owns turning the XML a client sends (CreateBucketConfiguration, Delete,
CompleteMultipartUpload) into frozen values, and refusing anything else with
``MalformedXML``. The parser resolves no entities, loads no DTD, touches no network and
has a size limit; a document with a DOCTYPE is refused outright, so neither an entity
bomb nor an external entity is ever expanded. Element names are matched by local name,
with or without S3's namespace, because clients differ. It must not read streams or
decide what a parsed request means (whether a region exists, whether parts are in
order): callers hand it the body bytes and act on the values.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
from lxml import etree

from s3core import errors

__all__ = [
    "MAX_COMPLETE_MULTIPART_BODY",
    "MAX_CREATE_BUCKET_BODY",
    "MAX_DELETE_BODY",
    "CompletedPart",
    "DeleteRequest",
    "ObjectIdentifier",
    "parse_complete_multipart",
    "parse_create_bucket_configuration",
    "parse_delete",
]

MAX_CREATE_BUCKET_BODY = 1024 * 1024
# 1000 keys of up to 1024 bytes each, written with entity escapes, exceed 1 MiB.
MAX_DELETE_BODY = 4 * 1024 * 1024
# 10000 parts, each with an ETag and possibly a checksum.
MAX_COMPLETE_MULTIPART_BODY = 4 * 1024 * 1024

# DeleteObjects: "The request can contain a list of up to 1000 keys".
_MAX_DELETE_OBJECTS = 1000
# "Part numbers can be any number from 1 to 10,000, inclusive."
_MAX_PART_NUMBER = 10_000

# Checksum elements of a CompleteMultipartUpload <Part>, by the algorithm they name.
_PART_CHECKSUMS = {
    "ChecksumCRC32": "CRC32",
    "ChecksumCRC32C": "CRC32C",
    "ChecksumCRC64NVME": "CRC64NVME",
    "ChecksumSHA1": "SHA1",
    "ChecksumSHA256": "SHA256",
}


@attrs.frozen
class ObjectIdentifier:
    """One ``<Object>`` of a DeleteObjects request."""

    key: str
    version_id: str | None = None


@attrs.frozen
class DeleteRequest:
    """A DeleteObjects request: the keys to delete and whether to report successes."""

    quiet: bool
    objects: tuple[ObjectIdentifier, ...]


@attrs.frozen(kw_only=True)
class CompletedPart:
    """One ``<Part>`` of a CompleteMultipartUpload request.

    ``etag`` is bare (quotes removed); ``checksums`` maps algorithm names (``CRC32``,
    ``SHA256``, ...) to the base64 values the client sent, in document order.
    """

    part_number: int
    etag: str
    checksums: tuple[tuple[str, str], ...] = ()


def _parse(body: bytes, limit: int) -> etree._Element:
    """The root element of ``body``, parsed with every dangerous feature off.

    Raises:
        MalformedXML: the body is larger than ``limit``, not well-formed, or has a
            document type declaration.
    """
    if len(body) > limit:
        raise errors.MalformedXML(
            f"The XML you provided was larger than the maximum of {limit} bytes"
        )
    # Refuse DOCTYPE before parsing where it is visible in the bytes (UTF-8 and its
    # ASCII subset, what every client sends), and again after parsing for the rest.
    if b"<!DOCTYPE" in body:
        raise errors.MalformedXML()
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise errors.MalformedXML() from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise errors.MalformedXML()
    return root


def _name(element: etree._Element) -> str:
    """An element's local name, whatever its namespace (``""`` for non-elements)."""
    if not isinstance(element.tag, str):
        return ""
    return etree.QName(element).localname


def _children(element: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """The child elements of ``element`` with their local names."""
    for child in element:
        if isinstance(child.tag, str):
            yield _name(child), child
        else:
            # Comments and processing instructions are removed by the parser;
            # anything else (an entity reference) has no place in an S3 request.
            raise errors.MalformedXML()


def _root(body: bytes, limit: int, name: str) -> etree._Element:
    root = _parse(body, limit)
    if _name(root) != name:
        raise errors.MalformedXML()
    return root


def _text(element: etree._Element) -> str:
    """The text of a leaf element, exactly as sent (keys keep their whitespace)."""
    if len(element):
        raise errors.MalformedXML()
    return element.text or ""


def _single(element: etree._Element, name: str) -> etree._Element | None:
    """The only child called ``name``, ``None`` if none; two of them are malformed."""
    found = [child for child_name, child in _children(element) if child_name == name]
    if len(found) > 1:
        raise errors.MalformedXML()
    return found[0] if found else None


def parse_create_bucket_configuration(
    body: bytes, *, limit: int = MAX_CREATE_BUCKET_BODY
) -> str | None:
    """The ``LocationConstraint`` of a CreateBucket body.

    Returns:
        ``None`` for an empty body or a configuration without the element, else its
        text with surrounding whitespace removed (``""`` for an empty element).

    Raises:
        MalformedXML: the body is not a ``CreateBucketConfiguration`` document.
    """
    if not body.strip():
        return None
    root = _root(body, limit, "CreateBucketConfiguration")
    element = _single(root, "LocationConstraint")
    return None if element is None else _text(element).strip()


def _object(element: etree._Element) -> ObjectIdentifier:
    key = _single(element, "Key")
    if key is None:
        raise errors.MalformedXML()
    version = _single(element, "VersionId")
    return ObjectIdentifier(_text(key), None if version is None else _text(version))


def _boolean(element: etree._Element | None) -> bool:
    """An xs:boolean (``true``/``false``/``1``/``0``); absent means false."""
    if element is None:
        return False
    value = _text(element).strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise errors.MalformedXML()


def parse_delete(body: bytes, *, limit: int = MAX_DELETE_BODY) -> DeleteRequest:
    """A DeleteObjects body: ``<Delete>`` with ``<Quiet>`` and ``<Object>`` entries.

    Keys are kept exactly as sent, whitespace included. Unknown elements are ignored
    (newer SDKs add conditional fields such as ``ETag`` to ``<Object>``).

    Raises:
        MalformedXML: the body is not a ``Delete`` document, an ``<Object>`` has no
            ``<Key>``, ``<Quiet>`` is not a boolean, or the request names no objects
            or more than 1000.
    """
    root = _root(body, limit, "Delete")
    objects = tuple(
        _object(child) for name, child in _children(root) if name == "Object"
    )
    if not objects or len(objects) > _MAX_DELETE_OBJECTS:
        raise errors.MalformedXML()
    return DeleteRequest(quiet=_boolean(_single(root, "Quiet")), objects=objects)


def _part_number(element: etree._Element | None) -> int:
    if element is None:
        raise errors.MalformedXML()
    text = _text(element).strip()
    # Only plain ASCII digits: int() would also take "+5", "1_0" and Arabic digits.
    if not (text.isascii() and text.isdigit()):
        raise errors.MalformedXML()
    number = int(text)
    if not 1 <= number <= _MAX_PART_NUMBER:
        raise errors.MalformedXML()
    return number


def _part(element: etree._Element) -> CompletedPart:
    number = _part_number(_single(element, "PartNumber"))
    etag = _single(element, "ETag")
    if etag is None:
        raise errors.MalformedXML()
    checksums = tuple(
        (_PART_CHECKSUMS[name], _text(child).strip())
        for name, child in _children(element)
        if name in _PART_CHECKSUMS
    )
    bare = _text(etag).strip().strip('"')
    return CompletedPart(part_number=number, etag=bare, checksums=checksums)


def parse_complete_multipart(
    body: bytes, *, limit: int = MAX_COMPLETE_MULTIPART_BODY
) -> tuple[CompletedPart, ...]:
    """A CompleteMultipartUpload body's parts, in document order.

    The order is not checked here: ascending order (``InvalidPartOrder``) and the
    parts' existence (``InvalidPart``) are the multipart operation's to judge.

    Raises:
        MalformedXML: the body is not a ``CompleteMultipartUpload`` document, it has
            no parts or more than 10000, or a part lacks an ETag or has a part number
            that is not an integer from 1 to 10000.
    """
    root = _root(body, limit, "CompleteMultipartUpload")
    parts = tuple(_part(child) for name, child in _children(root) if name == "Part")
    if not parts or len(parts) > _MAX_PART_NUMBER:
        raise errors.MalformedXML()
    return parts
