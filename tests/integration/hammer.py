"""A mixed S3 workload from many clients at once, and the checks run on what it saw.

``hammer`` runs threads (in this process; ``hammer_processes`` runs several such
processes) that pick an endpoint at random for every request and do PUT, GET, HEAD,
DELETE, ListObjectsV2 and multipart uploads on keys shared by all clients and on keys
private to one thread. Every body is random and carries its own MD5 (and, for a
multipart object, its expected ETag) in user metadata, so each read checks itself:
bytes whose MD5 differs from the metadata's are a torn object, an ETag that differs
from the bytes' is metadata describing other data. Every acknowledged operation is
recorded with its start and end on the host's monotonic clock; ``check_final`` then
proves that the state left over is one the acknowledged history allows.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

import attrs
import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tests.integration.server_processes import abandon_put, make_client

# Keys every client writes. "x" beside "x/y" (and "d/a" beside "d/a/b") makes
# writers move a file into a directory of its name, under the bucket's exclusive
# lock, while others write, read and delete around it.
SHARED_KEYS = ("s0", "s1", "s2", "x", "x/y", "d/a", "d/a/b", "deep/1/2/3/k")
PART_SIZE = 5 * 1024 * 1024  # S3's minimum for all parts but the last
_OK_MISSING = ("NoSuchKey", "404")


@attrs.frozen
class Done:
    """One acknowledged write or delete: what it left at ``key``, and when."""

    key: str
    md5: str | None  # None: a delete
    start: float
    end: float


@attrs.define
class Report:
    """What a client saw: acknowledged changes, observations, failures."""

    ops: int = 0
    done: list[Done] = attrs.Factory(list)
    # (etag, size) of every object written: to check what listings report.
    written: dict[str, int] = attrs.Factory(dict)
    listed: list[tuple[str, str, int]] = attrs.Factory(list)
    failures: list[str] = attrs.Factory(list)
    counts: dict[str, int] = attrs.Factory(dict)
    slowest: dict[str, float] = attrs.Factory(dict)  # seconds, per kind of op

    def merge(self, other: Report) -> None:
        self.ops += other.ops
        self.done += other.done
        self.written.update(other.written)
        self.listed += other.listed
        self.failures += other.failures
        for name, n in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
        for name, t in other.slowest.items():
            self.slowest[name] = max(self.slowest.get(name, 0.0), t)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "?"))


def verify_get(response: dict[str, Any], body: bytes) -> str | None:
    """Why a GET's bytes and metadata disagree, or ``None`` if they agree."""
    md5 = hashlib.md5(body).hexdigest()
    meta = response.get("Metadata", {})
    etag = response["ETag"].strip('"')
    if meta.get("md5") != md5:
        return f"torn: body md5 {md5} but written as {meta.get('md5')}"
    if etag != meta.get("etag", md5):
        return f"etag {etag} does not describe the body (expected {meta})"
    if response["ContentLength"] != len(body):
        return f"Content-Length {response['ContentLength']} for {len(body)} bytes"
    return None


class _Client:
    """One thread's clients (one per endpoint) and its record."""

    def __init__(
        self, name: str, endpoints: Sequence[str], bucket: str, seed: int, session: Any
    ) -> None:
        self.name = name
        self.endpoints = list(endpoints)
        self.clients = [make_client(url, session=session) for url in endpoints]
        self.bucket = bucket
        self.rng = random.Random(seed)
        self.report = Report()
        self.private = [f"p/{name}/{i}" for i in range(3)] + [f"p/{name}/d/e"]
        # What this thread's private keys hold (ETag; None: absent). Only this
        # thread writes them, so every listing must show exactly this.
        self.mine: dict[str, str | None] = dict.fromkeys(self.private)

    def any_client(self) -> Any:
        return self.rng.choice(self.clients)

    def body(self, size: int) -> bytes:
        return self.rng.randbytes(size)

    def count(self, what: str, took: float) -> None:
        report = self.report
        report.counts[what] = report.counts.get(what, 0) + 1
        report.slowest[what] = max(report.slowest.get(what, 0.0), took)

    def fail(self, what: str) -> None:
        self.report.failures.append(f"{self.name}: {what}")

    # -- operations -------------------------------------------------------------

    def put(self, key: str) -> None:
        data = self.body(self.rng.choice((0, 1, 100, 4096, 70_000, 300_000)))
        md5 = hashlib.md5(data).hexdigest()
        start = time.monotonic()
        response = self.any_client().put_object(
            Bucket=self.bucket, Key=key, Body=data, Metadata={"md5": md5}
        )
        end = time.monotonic()
        if response["ETag"].strip('"') != md5:
            self.fail(f"PUT {key}: ETag {response['ETag']} for md5 {md5}")
        self.report.written[md5] = len(data)
        self.report.done.append(Done(key, md5, start, end))
        self.changed(key, md5)

    def multipart(self, key: str) -> None:
        parts = [self.body(PART_SIZE), self.body(self.rng.randrange(1, 5000))]
        whole = b"".join(parts)
        md5 = hashlib.md5(whole).hexdigest()
        digests = b"".join(hashlib.md5(p).digest() for p in parts)
        etag = f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"
        client = self.any_client()
        upload = client.create_multipart_upload(
            Bucket=self.bucket, Key=key, Metadata={"md5": md5, "etag": etag}
        )["UploadId"]
        done = []
        for number, data in enumerate(parts, 1):
            # Each part through any endpoint: the upload's state is on disk.
            response = self.any_client().upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                Body=data,
            )
            done.append({"PartNumber": number, "ETag": response["ETag"]})
        start = time.monotonic()
        response = self.any_client().complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload,
            MultipartUpload={"Parts": done},
        )
        end = time.monotonic()
        if response["ETag"].strip('"') != etag:
            self.fail(f"complete {key}: ETag {response['ETag']}, expected {etag}")
        self.report.written[etag] = len(whole)
        self.report.done.append(Done(key, md5, start, end))
        self.changed(key, etag)

    def delete(self, key: str) -> None:
        start = time.monotonic()
        self.any_client().delete_object(Bucket=self.bucket, Key=key)
        self.report.done.append(Done(key, None, start, time.monotonic()))
        self.changed(key, None)

    def changed(self, key: str, etag: str | None) -> None:
        if key in self.mine:
            self.mine[key] = etag

    def get(self, key: str) -> None:
        try:
            response = self.any_client().get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _OK_MISSING:
                return
            raise
        problem = verify_get(response, response["Body"].read())
        if problem:
            self.fail(f"GET {key}: {problem}")

    def head(self, key: str) -> None:
        try:
            response = self.any_client().head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _OK_MISSING:
                return
            raise
        etag = response["ETag"].strip('"')
        meta = response.get("Metadata", {})
        if etag != meta.get("etag", meta.get("md5")):
            self.fail(f"HEAD {key}: ETag {etag} but written as {meta}")
        self.report.listed.append((key, etag, response["ContentLength"]))

    def list(self, prefix: str) -> None:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if self.rng.random() < 0.5:
            kwargs["Delimiter"] = "/"
        kwargs["MaxKeys"] = self.rng.choice((2, 1000))
        client = self.any_client()
        keys: dict[str, str] = {}
        prefixes: set[str] = set()
        last = ""
        while True:
            page = client.list_objects_v2(**kwargs)
            for entry in page.get("Contents", []):
                key = entry["Key"]
                if key <= last:
                    self.fail(f"LIST out of order: {key!r} after {last!r}")
                last = key
                keys[key] = entry["ETag"].strip('"')
                self.report.listed.append((key, keys[key], entry["Size"]))
            prefixes.update(p["Prefix"] for p in page.get("CommonPrefixes", []))
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        self.check_listing(prefix, "Delimiter" in kwargs, keys, prefixes)

    def check_listing(
        self, prefix: str, delimited: bool, keys: dict[str, str], prefixes: set[str]
    ) -> None:
        """Private keys, which nobody changed meanwhile, are listed as they are."""
        rolled_up: set[str] = set()
        for key, etag in self.mine.items():
            if not key.startswith(prefix):
                continue
            cut = key.find("/", len(prefix)) if delimited else -1
            if cut >= 0:
                if etag is not None:
                    rolled_up.add(key[: cut + 1])
            elif keys.get(key) != etag:
                self.fail(f"LIST {prefix!r}: {key} as {keys.get(key)}, not {etag}")
        if not rolled_up <= prefixes:
            self.fail(f"LIST {prefix!r}: common prefixes {rolled_up - prefixes} missed")

    def abandon(self, key: str) -> None:
        # Small bodies are buffered by waitress, large ones streamed to the backend.
        size = self.rng.choice((1000, 2_000_000))
        url = self.rng.choice(self.endpoints)
        abandon_put(url, self.bucket, key, size, self.rng.randrange(size))

    # -- the loop ---------------------------------------------------------------

    def step(self, multipart_share: float) -> None:
        started = time.monotonic()
        shared = self.rng.random() < 0.6
        key = self.rng.choice(SHARED_KEYS if shared else self.private)
        roll = self.rng.random()
        if roll < multipart_share:
            kind = "multipart"
            self.multipart(key)
        elif roll < 0.35:
            kind = "put"
            self.put(key)
        elif roll < 0.60:
            kind = "get"
            self.get(key)
        elif roll < 0.70:
            kind = "head"
            self.head(key)
        elif roll < 0.84:
            kind = "delete"
            self.delete(key)
        elif roll < 0.86:
            kind = "abandon"
            self.abandon(key)
        else:
            kind = "list"
            self.list(self.rng.choice(("", "d/", "p/", "x", f"p/{self.name}/")))
        self.count(kind, time.monotonic() - started)

    def run(self, until: float, multipart_share: float) -> None:
        while time.monotonic() < until:
            self.report.ops += 1
            try:
                self.step(multipart_share)
            except ClientError as exc:
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                self.fail(f"{exc.operation_name}: {_code(exc)} {status}")
            except (BotoCoreError, OSError) as exc:
                self.fail(f"transport: {exc!r}")


def hammer(
    endpoints: Sequence[str],
    bucket: str,
    *,
    threads: int,
    seconds: float,
    seed: int,
    multipart_share: float = 0.01,
) -> Report:
    """Run ``threads`` clients for ``seconds``; their merged report."""
    session = boto3.session.Session()
    clients = [
        _Client(f"t{seed}-{i}", endpoints, bucket, seed * 1000 + i, session)
        for i in range(threads)
    ]
    until = time.monotonic() + seconds
    workers = [
        threading.Thread(target=c.run, args=(until, multipart_share), daemon=True)
        for c in clients
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 120)
        if worker.is_alive():
            raise AssertionError("a hammer thread hung")
    report = Report()
    for c in clients:
        report.merge(c.report)
    return report


def _hammer_in_process(args: tuple[Any, ...]) -> Report:
    endpoints, bucket, threads, seconds, seed, share = args
    return hammer(
        endpoints,
        bucket,
        threads=threads,
        seconds=seconds,
        seed=seed,
        multipart_share=share,
    )


def hammer_processes(
    endpoints: Sequence[str],
    bucket: str,
    *,
    processes: int,
    threads: int,
    seconds: float,
    seed: int,
    multipart_share: float = 0.01,
) -> Report:
    """``hammer`` in ``processes`` client processes at once; the merged report."""
    ctx = multiprocessing.get_context("spawn")
    jobs = [
        (list(endpoints), bucket, threads, seconds, seed + i, multipart_share)
        for i in range(processes)
    ]
    with ctx.Pool(processes) as pool:
        reports = pool.map(_hammer_in_process, jobs)
    merged = Report()
    for report in reports:
        merged.merge(report)
    return merged


# -- after the storm ------------------------------------------------------------


def allowed_final(done: Sequence[Done]) -> set[str | None]:
    """The states a key may be left in: each acknowledged change not certainly
    followed by another (one that started after it ended), and ``None`` (absent)
    if no change was acknowledged at all."""
    if not done:
        return {None}
    return {d.md5 for d in done if not any(other.start > d.end for other in done)}


def check_final(endpoint: str, bucket: str, report: Report) -> list[str]:
    """Problems with what the bucket holds now, given the acknowledged history."""
    problems: list[str] = []
    client = make_client(endpoint)
    by_key: dict[str, list[Done]] = {}
    for d in report.done:
        by_key.setdefault(d.key, []).append(d)
    listed = {
        entry["Key"]: entry
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for entry in page.get("Contents", [])
    }
    for key in sorted(set(by_key) | set(listed)):
        state: str | None = None
        if key in listed:
            response = client.get_object(Bucket=bucket, Key=key)
            body = response["Body"].read()
            problem = verify_get(response, body)
            if problem:
                problems.append(f"final GET {key}: {problem}")
            state = hashlib.md5(body).hexdigest()
        allowed = allowed_final(by_key.get(key, []))
        if state not in allowed:
            problems.append(
                f"{key}: holds {state}, the acknowledged history allows {allowed}"
            )
    sizes = report.written
    for key, etag, size in report.listed:
        if sizes.get(etag, size) != size:
            problems.append(
                f"listed {key} as {etag} of {size} bytes, not {sizes[etag]}"
            )
    return problems
