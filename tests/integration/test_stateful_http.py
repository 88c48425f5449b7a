"""A Hypothesis state machine driving the real server over HTTP with boto3.

The filesystem backend behind a real ``ServerThread`` must behave like a sorted dict:
PutObject, CopyObject, DeleteObject, DeleteObjects, GetObject (whole and ranged),
files written, edited in place and removed by hand in the bucket directory, and
ListObjectsV2 pages (prefix, delimiter, StartAfter, a small MaxKeys so that every
listing takes several pages joined by continuation tokens) are applied to the server
and to a plain model, and every observation must agree. One server serves every
example, each example in a fresh bucket; examples are few and short (the HTTP round
trips cost milliseconds each) so that the test stays well under a minute.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from botocore.config import Config
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from s3core.backends.filesystem.layout import SELF_NAME, key_to_names
from s3server.server import ServerThread
from tests.backends.test_stateful import model_listing
from tests.integration.disk import files_under, temp_files
from tests.strategies.keys import delimiters, small_keys, small_prefixes

ClientError = botocore.exceptions.ClientError

# Mostly the tiny alphabet (clashes: "a" beside "a/b", "a/" markers, "a//b"), and
# now and then a key the layout must escape or hash.
keys = small_keys | st.sampled_from(
    ["..", "a/.s3~!self", ".s3~", "x" * 300, "a/" + "\u00e9" * 130, "%20+ \x01"]
)
# Keys of plain segments only, for files written and removed by hand.
hand_keys = st.lists(
    st.sampled_from(["a", "b", "a-b", "a0", "\u00e9"]), min_size=1, max_size=3
).map("/".join)
_buckets = itertools.count()


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def v2_pages(client: Any, bucket: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every ListObjectsV2 page, following continuation tokens by hand."""
    token: str | None = None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = client.list_objects_v2(Bucket=bucket, **kwargs, **extra)
        yield page
        if not page["IsTruncated"]:
            return
        token = page["NextContinuationToken"]


# Characters XML 1.0 cannot hold, not even as character references.
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_no_such_key(exc: pytest.ExceptionInfo[Any], key: str) -> None:
    """The error is NoSuchKey 404.

    The error body names the key(s); with a character XML 1.0 cannot hold, botocore
    cannot parse it and reports only the status.
    """
    response = exc.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    code = response["Error"]["Code"]
    assert code == "NoSuchKey" or (NOT_XML.search(key) and code == "404")


class HttpMachine(RuleBasedStateMachine):
    """The server (one bucket per example) against a sorted-dict model."""

    def __init__(self, client: Any, root: Path) -> None:
        super().__init__()
        self.client = client
        self.root = root
        self.bucket = f"machine-{next(_buckets)}"
        client.create_bucket(Bucket=self.bucket)
        self.model: dict[str, bytes] = {}
        self.version = 0

    def teardown(self) -> None:
        for key in list(self.model):
            self.client.delete_object(Bucket=self.bucket, Key=key)
        self.client.delete_bucket(Bucket=self.bucket)

    @rule(key=keys, size=st.sampled_from([0, 1, 100, 70_000]))
    def put(self, key: str, size: int) -> None:
        self.version += 1
        data = (f"{key}#{self.version}#".encode() * (size // 8 + 1))[:size]
        response = self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        assert response["ETag"] == etag_of(data)
        self.model[key] = data

    @rule(source=keys, destination=keys)
    def copy(self, source: str, destination: str) -> None:
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": destination,
            "CopySource": {"Bucket": self.bucket, "Key": source},
        }
        if source == destination:  # S3 refuses a copy onto itself that changes nothing
            kwargs["MetadataDirective"] = "REPLACE"
        if source not in self.model:
            with pytest.raises(ClientError) as exc:
                self.client.copy_object(**kwargs)
            check_no_such_key(exc, source + destination)
            return
        result = self.client.copy_object(**kwargs)
        assert result["CopyObjectResult"]["ETag"] == etag_of(self.model[source])
        self.model[destination] = self.model[source]

    @rule(key=keys)
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)
        self.model.pop(key, None)

    # XML 1.0 cannot carry most control characters, and botocore writes them raw
    # into the DeleteObjects body: S3, like this server, answers MalformedXML.
    @rule(
        chosen=st.lists(
            keys.filter(lambda k: not NOT_XML.search(k)),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    def delete_many(self, chosen: list[str]) -> None:
        self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": k} for k in chosen], "Quiet": True},
        )
        for key in chosen:
            self.model.pop(key, None)

    @rule(key=keys, start=st.integers(0, 80_000), length=st.integers(1, 50))
    def get(self, key: str, start: int, length: int) -> None:
        if key not in self.model:
            with pytest.raises(ClientError) as exc:
                self.client.get_object(Bucket=self.bucket, Key=key)
            check_no_such_key(exc, key)
            return
        data = self.model[key]
        got = self.client.get_object(Bucket=self.bucket, Key=key)
        assert got["Body"].read() == data
        assert got["ETag"] == etag_of(data)
        if start < len(data):
            end = start + length - 1
            part = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}"
            )
            assert part["Body"].read() == data[start : end + 1]

    @rule(
        prefix=small_prefixes,
        start_after=small_keys | st.just(""),
        delimiter=delimiters,
        max_keys=st.integers(1, 3),
    )
    def list_pages(
        self, prefix: str, start_after: str, delimiter: str, max_keys: int
    ) -> None:
        # S3 lists a common prefix only after StartAfter: StartAfter=P, P a common
        # prefix, is how the next page follows one that ended on P (a V1
        # NextMarker), so P is not listed again (operations.listing.collect_page).
        expected = [
            name
            for name in model_listing(list(self.model), prefix, start_after, delimiter)
            if name != f"<{start_after}>"
        ]
        seen: list[str] = []
        pages = v2_pages(
            self.client,
            self.bucket,
            Prefix=prefix,
            StartAfter=start_after,
            Delimiter=delimiter,
            MaxKeys=max_keys,
        )
        for page in pages:
            names = [o["Key"] for o in page.get("Contents", [])] + [
                f"<{p['Prefix']}>" for p in page.get("CommonPrefixes", [])
            ]
            assert page["KeyCount"] == len(names) <= max_keys
            # A page lists its keys and its prefixes apart: compare as sets, and
            # check that pages follow one another in the model's order.
            want = expected[len(seen) : len(seen) + len(names)]
            assert sorted(names) == sorted(want)
            seen += want
            assert page["IsTruncated"] == (len(seen) < len(expected))
        assert seen == expected
        # Each object's listed size and ETag are its current ones.
        for page in v2_pages(self.client, self.bucket, Prefix=prefix, MaxKeys=3):
            for obj in page.get("Contents", []):
                data = self.model[obj["Key"]]
                assert (obj["Size"], obj["ETag"]) == (len(data), etag_of(data))

    def _hand_path(self, key: str) -> Path | None:
        """Where a person would put ``key``'s file, or ``None`` if a file of another
        key stands where a folder must go (or a folder where the file must go)."""
        path = self.root / self.bucket
        names = key_to_names(key)
        for name in names[:-1]:
            path = path / name
            if path.exists() and not path.is_dir():
                return None
        path = path / names[-1]
        return None if path.is_dir() else path

    @rule(key=hand_keys, size=st.sampled_from([0, 5, 100]))
    def put_by_hand(self, key: str, size: int) -> None:
        path = self._hand_path(key)
        if path is None:
            return
        self.version += 1
        data = (f"hand {key}#{self.version}#".encode() * (size // 8 + 1))[:size]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)  # in place when it exists: the same inode
        self.model[key] = data

    @rule(key=hand_keys)
    def delete_by_hand(self, key: str) -> None:
        path = self._hand_path(key)
        if path is not None and path.is_file():
            path.unlink()
            del self.model[key]
        else:
            folder = self.root / self.bucket / Path(*key_to_names(key))
            if (folder / SELF_NAME).is_file():  # "a" beside "a/b"
                (folder / SELF_NAME).unlink()
                del self.model[key]

    @precondition(lambda self: not self.model)
    @rule()
    def empty_bucket_leaves_no_files(self) -> None:
        assert files_under(self.root / self.bucket) == []
        assert temp_files(self.root) == []


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One filesystem server for every example of the machine."""
    data = tmp_path_factory.mktemp("stateful-http") / "data"
    with ServerThread(data_dir=data) as server:
        yield server


def test_server_behaves_like_a_sorted_dict(http_server: ServerThread) -> None:
    """Random put/copy/delete/get/list sequences over HTTP agree with the model."""
    client = http_server.client(config=Config(retries={"max_attempts": 1}))
    root = Path(http_server.backend.root)  # type: ignore[attr-defined]
    run_state_machine_as_test(
        lambda: HttpMachine(client, root),
        settings=settings(
            max_examples=40, stateful_step_count=25, deadline=None, database=None
        ),
    )


def test_empty_put_keeps_the_connection_in_step(http_server: ServerThread) -> None:
    """After an empty PutObject, the next one on the connection answers at once."""
    # The state machine found it: boto3 sends "Expect: 100-continue" also with an
    # empty body; the server answered such a request without the 100, and botocore
    # then misread the next response on the connection and waited for its timeout.
    client = http_server.client(
        config=Config(retries={"max_attempts": 1}, read_timeout=5)
    )
    client.create_bucket(Bucket="expect-continue")
    for body in (b"", b"x", b"", b"", b"yz"):
        put = client.put_object(Bucket="expect-continue", Key="k", Body=body)
        # botocore recovers only by timing out and sending the request again.
        assert put["ResponseMetadata"]["RetryAttempts"] == 0
        got = client.get_object(Bucket="expect-continue", Key="k")
        assert got["Body"].read() == body
