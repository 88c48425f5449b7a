"""How arbitrary key text goes into an XML response: S3's URL encoding and char refs.

This module owns the two ways S3 carries text that a plain XML 1.0 document could not:
the percent-encoding it applies under ``encoding-type=url``, and numeric character
references for characters XML 1.0 has no place for. It knows nothing of response shapes
(that is ``xml_out``) and never builds a document by string formatting: characters XML
cannot hold become lxml ``Entity`` nodes.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.builder import ElementMaker

__all__ = ["text_element", "url_encode", "xml_chars"]

# XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
# [#x10000-#x10FFFF]. Anything else cannot appear in an XML 1.0 document at all.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")

# encoding-type=url: S3 percent-encodes the UTF-8 bytes like a form (space as "+") and
# leaves letters, digits, "-", "_", ".", "*" and "/" alone; "~" is encoded. SDKs decode
# these fields as form values (boto3: urllib.parse.unquote_plus), so "+" in a key must
# go out as "%2B" and "%" as "%25".
_URL_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.*/"
)
_URL_BYTE = tuple(
    chr(b) if b in _URL_SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in range(256)
)


def url_encode(value: str) -> str:
    """Encode a listing field the way S3 does under ``encoding-type=url``."""
    data = value.encode("utf-8", "surrogatepass")
    return "".join([_URL_BYTE[b] for b in data])


def xml_chars(value: str) -> list[str | etree._Entity]:
    """Children for an element whose text is ``value``, even where XML 1.0 cannot be.

    Keys may hold any Unicode, but control characters such as U+0001 are not XML 1.0
    characters. S3 does not refuse such a listing: it sends them as numeric character
    references, which strict XML 1.0 parsers reject ("For characters that are not
    supported in XML 1.0, you can add this parameter [encoding-type] to request that
    Amazon S3 encode the keys in the response"). We do the same rather than fail the
    whole page: lenient parsers read it, and clients that list with
    ``encoding-type=url`` (boto3, the AWS CLI, rclone) never meet one. A carriage
    return is a legal character and lxml already writes it as ``&#13;``, so XML
    end-of-line normalisation cannot turn it into a line feed.
    """
    parts: list[str | etree._Entity] = []
    position = 0
    for match in _NOT_XML_CHAR.finditer(value):
        parts.append(value[position : match.start()])
        parts.extend(etree.Entity(f"#{ord(char)}") for char in match.group())
        position = match.end()
    parts.append(value[position:])
    return [part for part in parts if not isinstance(part, str) or part]


def text_element(maker: ElementMaker, tag: str, value: str) -> etree._Element:
    """``<tag>value</tag>`` in ``maker``'s namespace, for any ``value``."""
    return maker(tag, *xml_chars(value))
