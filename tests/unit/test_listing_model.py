"""Listing through the service equals the same listing computed from a sorted list.

For any set of keys, prefix, delimiter and page size, paging through ListObjectsV2
(continuation tokens) and ListObjects v1 (markers) yields exactly the keys and common
prefixes a straightforward model computes, in UTF-8 byte order, each once.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_plus

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from s3core.backends.memory import MemoryBackend
from s3core.models import ObjectMeta
from s3core.service import S3Service
from s3server.server import make_user
from tests.unit.signing import NOW, signed

ALICE = make_user("ALICE", "alice-secret")
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

# A small alphabet makes shared prefixes, delimiters and ties likely.
_key_text = st.text(alphabet="ab/-+ é\U0001f600", min_size=1, max_size=8)
_keys = st.sets(_key_text, max_size=25)
_prefixes = st.one_of(st.just(""), _key_text.map(lambda k: k[:2]))
_delimiters = st.sampled_from(["", "/", "-", "b", "/a"])


def model(keys: set[str], prefix: str, delimiter: str) -> list[tuple[str, str]]:
    """The whole listing as (kind, name) pairs, kind "key" or "prefix"."""
    out: list[tuple[str, str]] = []
    for key in sorted(k for k in keys if k.startswith(prefix)):
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            out.append(("key", key))
        elif not out or out[-1] != ("prefix", key[: cut + len(delimiter)]):
            out.append(("prefix", key[: cut + len(delimiter)]))
    return out


def _filled(keys: set[str]) -> S3Service:
    backend = MemoryBackend(clock=lambda: NOW)
    backend.create_bucket("data", owner_id=ALICE.id, created=NOW)
    for key in keys:
        writer = backend.open_writer("data", key)
        writer.write(key.encode())
        writer.commit(ObjectMeta(), etag="0" * 32)
    return S3Service(backend, [ALICE], clock=lambda: NOW)


def _page(service: S3Service, params: dict[str, str]) -> etree._Element:
    query = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items()
    )
    response = service.handle(signed(ALICE, "GET", "/data", query=query))
    body = b"".join(response.body)
    assert response.status == 200, body
    return etree.fromstring(body)


def _entries(root: etree._Element) -> list[tuple[str, str]]:
    """Keys and prefixes of one page, decoded, in document order merged by name."""
    keys = [("key", unquote_plus(e.text or "")) for e in root.iter(f"{NS}Key")]
    prefixes = [
        ("prefix", unquote_plus(p.findtext(f"{NS}Prefix") or ""))
        for p in root.iter(f"{NS}CommonPrefixes")
    ]
    return sorted(keys + prefixes, key=lambda e: e[1])


@given(_keys, _prefixes, _delimiters, st.integers(min_value=1, max_value=7))
def test_v2_pages_equal_model(
    keys: set[str], prefix: str, delimiter: str, page_size: int
) -> None:
    """Paging ListObjectsV2 with continuation tokens reproduces the model exactly."""
    service = _filled(keys)
    params = {
        "list-type": "2",
        "prefix": prefix,
        "delimiter": delimiter,
        "max-keys": str(page_size),
        "encoding-type": "url",
    }
    seen: list[tuple[str, str]] = []
    for _ in range(len(keys) + 2):
        root = _page(service, params)
        page = _entries(root)
        assert len(page) <= page_size
        assert int(root.findtext(f"{NS}KeyCount") or -1) == len(page)
        seen += page
        token = root.findtext(f"{NS}NextContinuationToken")
        if root.findtext(f"{NS}IsTruncated") != "true":
            assert token is None
            break
        assert token
        params["continuation-token"] = token
    assert seen == model(keys, prefix, delimiter)


@given(_keys, _prefixes, _delimiters, st.integers(min_value=1, max_value=7))
def test_v1_pages_equal_model(
    keys: set[str], prefix: str, delimiter: str, page_size: int
) -> None:
    """Paging ListObjects v1 with markers (as SDKs do) reproduces the model exactly."""
    service = _filled(keys)
    params = {
        "prefix": prefix,
        "delimiter": delimiter,
        "max-keys": str(page_size),
        "encoding-type": "url",
    }
    seen: list[tuple[str, str]] = []
    for _ in range(len(keys) + 2):
        root = _page(service, params)
        page = _entries(root)
        seen += page
        if root.findtext(f"{NS}IsTruncated") != "true":
            break
        # SDKs resume at NextMarker, or at the last key when there is none.
        marker = root.findtext(f"{NS}NextMarker")
        params["marker"] = unquote_plus(marker) if marker else page[-1][1]
    assert seen == model(keys, prefix, delimiter)
