"""Races started at one instant on several server processes, and what S3 allows after.

Each function runs rounds of one race: a ``threading.Barrier`` releases clients that
each talk to a different endpoint (a different server process over the same data
directory), so the servers, not the clients, decide the order. Each returns a
``Tally``: how the rounds ended (so a test can tell a race that was really run from
one that always ended the same way) and every outcome S3 would not allow.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import attrs
import boto3
from botocore.exceptions import ClientError

from tests.integration.server_processes import make_client

# A lost conditional write: 412 PreconditionFailed, or 409 ConditionalRequestConflict
# ("A conflicting operation occurred", S3 User Guide, "Conditional writes").
CONDITION_LOST = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


@attrs.define
class Tally:
    """How rounds ended, and every outcome that breaks S3's guarantees."""

    outcomes: dict[str, int] = attrs.Factory(dict)
    problems: list[str] = attrs.Factory(list)
    ops: int = 0

    def saw(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or (S3 error code, the error's response)."""
    try:
        return "ok", call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"]), exc.response


def at_once(calls: Sequence[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run ``calls`` in threads released together; their outcomes in order."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("unset", None)] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = outcome(calls[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        if t.is_alive():
            raise AssertionError("a racing request hung")
    return results


class Clients:
    """boto3 clients per (racer, user), made once: creating one takes a while."""

    def __init__(self, endpoints: Sequence[str]) -> None:
        self.endpoints = list(endpoints)
        self._session = boto3.session.Session()
        self._made: dict[tuple[int, int], Any] = {}

    def __call__(self, i: int, user: int = 0) -> Any:
        """Racer ``i``'s client: endpoint ``i`` (round robin), its own connections."""
        if (i, user) not in self._made:
            url = self.endpoints[i % len(self.endpoints)]
            self._made[i, user] = make_client(url, user, session=self._session)
        return self._made[i, user]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- CreateBucket ---------------------------------------------------------------


def create_bucket_race(clients: Clients, *, rounds: int, racers: int) -> Tally:
    """Racers (one of them the second user) create one bucket name at once.

    Exactly one gets 200; a loser of the winner's account gets
    BucketAlreadyOwnedByYou, one of another account BucketAlreadyExists (both 409).
    """
    tally = Tally()
    for _ in range(rounds):
        name = _name("race")
        users = [0] * (racers - 1) + [1]
        results = at_once(
            [
                partial(clients(i, users[i]).create_bucket, Bucket=name)
                for i in range(racers)
            ]
        )
        tally.ops += racers
        winners = [i for i, (code, _) in enumerate(results) if code == "ok"]
        if len(winners) != 1:
            tally.problems.append(f"{name}: {len(winners)} winners: {results}")
            continue
        owner = users[winners[0]]
        tally.saw("user" if owner == 0 else "other user")
        for i, (code, _) in enumerate(results):
            expected = (
                "BucketAlreadyOwnedByYou"
                if users[i] == owner
                else "BucketAlreadyExists"
            )
            if i != winners[0] and code != expected:
                tally.problems.append(f"{name}: racer {i} got {code}, not {expected}")
        for user in (0, 1):
            names = {b["Name"] for b in clients(0, user).list_buckets()["Buckets"]}
            if (name in names) != (user == owner):
                tally.problems.append(f"{name}: user {user} lists it: {name in names}")
        clients(1, owner).delete_bucket(Bucket=name)
    return tally


# -- DeleteBucket racing writes ------------------------------------------------


def delete_bucket_race(clients: Clients, *, rounds: int, writers: int) -> Tally:
    """DeleteBucket of an empty bucket races PUTs and a CreateMultipartUpload.

    What S3 guarantees: an acknowledged write is never lost. Either the deletion
    came first (204, and every write got NoSuchBucket) or a write did (the deletion
    got BucketNotEmpty, and every acknowledged object and upload is still there).
    """
    tally = Tally()
    rng = random.Random(5)
    for _ in range(rounds):
        bucket = _name("doomed")
        clients(0).create_bucket(Bucket=bucket)
        bodies = [rng.randbytes(rng.choice((0, 10, 50_000))) for _ in range(writers)]
        jitter = [rng.random() * 0.01 for _ in range(writers + 2)]
        calls: list[Callable[[], Any]] = [
            _later(jitter[0], partial(clients(0).delete_bucket, Bucket=bucket))
        ]
        calls += [
            _later(
                jitter[i + 1],
                partial(
                    clients(i + 1).put_object,
                    Bucket=bucket,
                    Key=f"k{i}",
                    Body=bodies[i],
                ),
            )
            for i in range(writers)
        ]
        calls.append(
            _later(
                jitter[-1],
                partial(
                    clients(writers + 1).create_multipart_upload,
                    Bucket=bucket,
                    Key="upload",
                ),
            )
        )
        results = at_once(calls)
        tally.ops += len(calls)
        _judge_delete(clients, bucket, bodies, results, tally)
    return tally


def _later(delay: float, call: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        threading.Event().wait(delay)
        return call()

    return run


def _judge_delete(
    clients: Clients,
    bucket: str,
    bodies: list[bytes],
    results: list[tuple[str, Any]],
    tally: Tally,
) -> None:
    deleted, writes, upload = results[0][0], results[1:-1], results[-1]
    client = clients(0)
    acked = [i for i, (code, _) in enumerate(writes) if code == "ok"]
    others = {code for code, _ in writes if code not in ("ok", "NoSuchBucket")}
    if upload[0] not in ("ok", "NoSuchBucket"):
        others.add(f"upload: {upload[0]}")
    if others:
        tally.problems.append(f"{bucket}: unexpected answers {others}")
    if deleted == "ok":
        tally.saw("bucket deleted first")
        if acked or upload[0] == "ok":
            tally.problems.append(
                f"{bucket}: deleted, yet writes {acked} (upload: {upload[0]}) "
                "were acknowledged: lost"
            )
        code, _ = outcome(lambda: client.head_bucket(Bucket=bucket))
        if code != "404":
            tally.problems.append(f"{bucket}: deleted, but HeadBucket says {code}")
        return
    if deleted != "BucketNotEmpty":
        tally.problems.append(f"{bucket}: DeleteBucket answered {deleted}")
        return
    tally.saw("a write first")
    if not acked and upload[0] != "ok":
        tally.problems.append(f"{bucket}: BucketNotEmpty, but no write succeeded")
    for i in acked:
        code, got = outcome(lambda i=i: client.get_object(Bucket=bucket, Key=f"k{i}"))
        if code != "ok":
            tally.problems.append(f"{bucket}/k{i}: acknowledged, then {code}")
            continue
        body = got["Body"].read()
        if body != bodies[i]:
            tally.problems.append(f"{bucket}/k{i}: other bytes than written")
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    if upload[0] == "ok":
        if [u["UploadId"] for u in uploads] != [upload[1]["UploadId"]]:
            tally.problems.append(f"{bucket}: acknowledged upload lost: {uploads}")
        client.abort_multipart_upload(
            Bucket=bucket, Key="upload", UploadId=upload[1]["UploadId"]
        )
    for i in acked:
        client.delete_object(Bucket=bucket, Key=f"k{i}")
    client.delete_bucket(Bucket=bucket)


# -- requests on a bucket racing its deletion -------------------------------------


def head_bucket_race(clients: Clients, *, rounds: int, readers: int) -> Tally:
    """HeadBucket from several processes, looping, while the bucket is deleted.

    Every request on a bucket reads its record (the owner); a record written back
    by a reader after the deletion would outlive the bucket. The caller checks the
    data directory afterwards; here each HeadBucket must answer 200 or 404.
    """
    tally = Tally()
    for _ in range(rounds):
        bucket = _name("gone")
        clients(0).create_bucket(Bucket=bucket)
        # All through the first endpoint as well as the others: a reader stalled
        # (by the GIL) in the thread next to the deleting one is the likeliest.
        span = len(clients.endpoints)
        threads = [
            threading.Thread(
                target=_head_until_gone, args=(clients(i * span), bucket, tally)
            )
            for i in range(readers)
        ]
        threads += [
            threading.Thread(target=_head_until_gone, args=(clients(i), bucket, tally))
            for i in range(1, span)
        ]
        for t in threads:
            t.start()
        threading.Event().wait(0.02)
        clients(readers * span).delete_bucket(Bucket=bucket)
        for t in threads:
            t.join(60)
    return tally


def _head_until_gone(client: Any, bucket: str, tally: Tally) -> None:
    while True:
        code, _ = outcome(lambda: client.head_bucket(Bucket=bucket))
        tally.ops += 1
        tally.saw(code)
        if code == "404":
            return
        if code != "ok":
            tally.problems.append(f"HeadBucket answered {code}")
            return
