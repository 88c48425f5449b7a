"""The building blocks every S3 response body is made of.

This module owns what the response modules (``xml_out``, ``xml_uploads``) share: the
``2006-03-01`` namespace and its element makers, serialising a document with S3's XML
declaration, the ``Owner`` value and element, optional and boolean elements, quoted
ETags, and the ``encoding-type=url`` encoder with the listing elements it applies to.
It builds no whole response itself and decides nothing about a request.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from lxml import etree
from lxml.builder import ElementMaker

from s3core import errors
from s3core.xml_text import text_element as _text
from s3core.xml_text import url_encode

__all__ = [
    "BARE",
    "S3",
    "S3_NAMESPACE",
    "Encoder",
    "Owner",
    "boolean",
    "common_prefix_elements",
    "delimiter_element",
    "document",
    "optional",
    "owner_element",
    "quoted",
]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
S3 = ElementMaker(namespace=S3_NAMESPACE, nsmap={None: S3_NAMESPACE})
# S3's <Error> document carries no namespace.
BARE = ElementMaker()


@attrs.frozen
class Owner:
    """The canonical user that owns a bucket or object, as listings show it."""

    id: str
    display_name: str


def document(root: etree._Element) -> bytes:
    """Serialise with S3's declaration (double quotes, which lxml's own lacks)."""
    return _DECLARATION + etree.tostring(root, encoding="UTF-8")


def optional(tag: str, value: str | None) -> list[etree._Element]:
    """``<tag>`` when ``value`` is given, else nothing."""
    return [] if value is None else [_text(S3, tag, value)]


def boolean(value: bool) -> str:
    """An xs:boolean as S3 writes it."""
    return "true" if value else "false"


def quoted(etag: str) -> str:
    """The ETag as S3 sends it in XML: inside double quotes."""
    return f'"{etag.strip(chr(34))}"'


def owner_element(owner: Owner) -> etree._Element:
    """``<Owner>`` with ID and DisplayName."""
    return S3.Owner(
        _text(S3, "ID", owner.id), _text(S3, "DisplayName", owner.display_name)
    )


class Encoder:
    """Applies ``encoding-type`` to the fields S3 encodes under it."""

    def __init__(self, encoding_type: str | None) -> None:
        # S3 accepts only "url" ("Invalid Encoding Method specified in Request").
        if encoding_type not in (None, "url"):
            raise errors.InvalidArgument(
                "Invalid Encoding Method specified in Request",
                extra={
                    "ArgumentName": "encoding-type",
                    "ArgumentValue": encoding_type,
                },
            )
        self.encoding_type = encoding_type

    def __call__(self, value: str) -> str:
        return url_encode(value) if self.encoding_type == "url" else value

    def element(self) -> list[etree._Element]:
        """``<EncodingType>`` when one was asked for."""
        return optional("EncodingType", self.encoding_type)


def common_prefix_elements(
    prefixes: Sequence[str], encode: Encoder
) -> list[etree._Element]:
    """One ``<CommonPrefixes>`` per prefix, encoded as the listing asks."""
    return [
        S3.CommonPrefixes(_text(S3, "Prefix", encode(prefix))) for prefix in prefixes
    ]


def delimiter_element(delimiter: str | None, encode: Encoder) -> list[etree._Element]:
    """``<Delimiter>`` only when the request had a non-empty one, as S3 does."""
    return optional("Delimiter", encode(delimiter) if delimiter else None)
