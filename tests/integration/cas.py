"""Conditional writes racing from several server processes: compare-and-swap on S3.

``If-None-Match: *`` (create only if absent) and ``If-Match: <etag>`` (replace only
the version read) must each have exactly one winner among racers on one key, the
others losing with 412 PreconditionFailed or 409 ConditionalRequestConflict, as S3
answers them ("Conditional writes", S3 User Guide). ``cas_counter`` builds a counter
on If-Match and checks that no acknowledged increment is lost.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from tests.integration.races import CONDITION_LOST, Clients, Tally, at_once
from tests.integration.server_processes import make_client


def _one_winner(key: str, results: list[tuple[str, Any]], tally: Tally) -> int | None:
    """The index of the single winner; records a problem unless there is one."""
    won = [i for i, (code, _) in enumerate(results) if code == "ok"]
    lost = {code for code, _ in results if code != "ok"}
    if lost - CONDITION_LOST:
        tally.problems.append(f"{key}: losers answered {lost}")
    if len(won) != 1:
        tally.problems.append(f"{key}: {len(won)} winners: {[c for c, _ in results]}")
        return None
    tally.saw(f"racer {won[0]} won")
    return won[0]


def _check_holds(
    clients: Clients, bucket: str, key: str, body: bytes, tally: Tally
) -> None:
    got = clients(1).get_object(Bucket=bucket, Key=key)["Body"].read()
    if got != body:
        tally.problems.append(f"{key}: holds other bytes than the winner's")


def if_none_match_race(
    clients: Clients, bucket: str, *, rounds: int, racers: int
) -> Tally:
    """Racers create one new key with If-None-Match: * at once (PUT or, for odd
    racers, CompleteMultipartUpload of an upload of their own)."""
    tally = Tally()
    rng = random.Random(11)
    for n in range(rounds):
        key = f"inm/{n}"
        bodies = [rng.randbytes(rng.choice((1, 3000, 100_000))) for _ in range(racers)]
        calls = [
            _create_call(clients, i, bucket, key, bodies[i]) for i in range(racers)
        ]
        results = at_once(calls)
        tally.ops += racers
        winner = _one_winner(key, results, tally)
        if winner is not None:
            _check_holds(clients, bucket, key, bodies[winner], tally)
    return tally


def _create_call(
    clients: Clients, i: int, bucket: str, key: str, body: bytes
) -> Callable[[], Any]:
    client = clients(i)
    if i % 2 == 0:
        return lambda: client.put_object(
            Bucket=bucket, Key=key, Body=body, IfNoneMatch="*"
        )
    # Prepared before the race; only the completion races.
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = client.upload_part(
        Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=body
    )["ETag"]

    def complete() -> Any:
        try:
            return client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
                IfNoneMatch="*",
            )
        except ClientError:
            # The loser's upload stays open (S3 keeps it too): abort it.
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
            raise

    return complete


def if_match_race(clients: Clients, bucket: str, *, rounds: int, racers: int) -> Tally:
    """Racers replace one existing version with If-Match: <its ETag> at once."""
    tally = Tally()
    rng = random.Random(13)
    for n in range(rounds):
        key = f"im/{n % 3}"  # the same keys again: replacing, not creating
        etag = clients(0).put_object(Bucket=bucket, Key=key, Body=b"v%d" % n)["ETag"]
        bodies = [rng.randbytes(rng.choice((0, 2000, 80_000))) for _ in range(racers)]
        results = at_once(
            [
                partial(
                    clients(i).put_object,
                    Bucket=bucket,
                    Key=key,
                    Body=bodies[i],
                    IfMatch=etag,
                )
                for i in range(racers)
            ]
        )
        tally.ops += racers + 1
        winner = _one_winner(key, results, tally)
        if winner is not None:
            _check_holds(clients, bucket, key, bodies[winner], tally)
    return tally


# -- a counter on compare-and-swap ----------------------------------------------


def _increment(endpoints: Sequence[str], bucket: str, n: int, seed: int) -> list[int]:
    """Add 1 to the counter ``n`` times (read, then write If-Match); the values
    this client wrote."""
    rng = random.Random(seed)
    clients = [make_client(url) for url in endpoints]
    wrote: list[int] = []
    while len(wrote) < n:
        client = rng.choice(clients)
        got = client.get_object(Bucket=bucket, Key="counter")
        value = int(got["Body"].read()) + 1
        try:
            rng.choice(clients).put_object(
                Bucket=bucket,
                Key="counter",
                Body=b"%d" % value,
                IfMatch=got["ETag"],
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] in CONDITION_LOST:
                continue  # someone else incremented first: read again
            raise
        wrote.append(value)
    return wrote


def _increment_job(args: tuple[Sequence[str], str, int, int]) -> list[int]:
    return _increment(*args)


def cas_counter(
    endpoints: Sequence[str],
    bucket: str,
    *,
    clients: int,
    increments: int,
    processes: bool = False,
) -> Tally:
    """``clients`` (threads, or processes) each add ``increments`` to a counter.

    Every acknowledged write must have written a value nobody else wrote, and the
    counter must end at the number of them: no lost update.
    """
    tally = Tally()
    make_client(endpoints[0]).put_object(Bucket=bucket, Key="counter", Body=b"0")
    jobs = [(list(endpoints), bucket, increments, seed) for seed in range(clients)]
    if processes:
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            written = pool.map(_increment_job, jobs)
    else:
        written = [[] for _ in jobs]

        def run(i: int) -> None:
            try:
                written[i] = _increment(*jobs[i])
            except Exception as exc:  # reported, not lost with the thread
                tally.problems.append(f"client {i}: {exc!r}")

        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
    values = sorted(v for vs in written for v in vs)
    tally.ops = len(values)
    final = int(
        make_client(endpoints[-1])
        .get_object(Bucket=bucket, Key="counter")["Body"]
        .read()
    )
    expected = clients * increments
    if values != list(range(1, expected + 1)) or final != expected:
        tally.problems.append(
            f"counter ends at {final}; {len(values)} acknowledged writes wrote "
            f"{len(set(values))} distinct values, expected 1..{expected}"
        )
    tally.saw(f"counter {final}")
    return tally
