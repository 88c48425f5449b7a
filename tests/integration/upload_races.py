"""Races on one multipart upload from several server processes.

``complete_race`` completes one upload from several clients at once (and, in odd
rounds, aborts it from another); ``list_parts_race`` lists its parts while it ends.
Each returns a ``Tally`` (see ``races``) of how rounds ended and of every outcome S3
would not allow.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from tests.integration.hammer import PART_SIZE, verify_get
from tests.integration.races import Clients, Tally, at_once, outcome


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -- CompleteMultipartUpload of one upload ---------------------------------------


def complete_race(clients: Clients, bucket: str, *, rounds: int, racers: int) -> Tally:
    """Racers complete one upload at once; in odd rounds one racer aborts it.

    Allowed: every successful completion names the one expected ETag, the others
    get NoSuchUpload, and the object is whole; or the abort won, every completion
    got NoSuchUpload and there is no object. Never both an abort and an object.
    """
    tally = Tally()
    rng = random.Random(7)
    for n in range(rounds):
        key = f"mpu/{n}"
        parts = [rng.randbytes(PART_SIZE), rng.randbytes(1000 + n)]
        whole = b"".join(parts)
        etag = _md5(b"".join(hashlib.md5(p).digest() for p in parts)) + "-2"
        meta = {"md5": _md5(whole), "etag": etag}
        client = clients(0)
        upload_id = client.create_multipart_upload(
            Bucket=bucket, Key=key, Metadata=meta
        )["UploadId"]
        listed = [
            {
                "PartNumber": i,
                "ETag": clients(i).upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=i, Body=p
                )["ETag"],
            }
            for i, p in enumerate(parts, 1)
        ]
        ids = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        calls: list[Callable[[], Any]] = [
            partial(
                clients(i).complete_multipart_upload,
                **ids,
                MultipartUpload={"Parts": listed},
            )
            for i in range(racers)
        ]
        aborting = n % 2 == 1
        if aborting:
            calls[-1] = partial(clients(racers).abort_multipart_upload, **ids)
        results = at_once(calls)
        tally.ops += len(calls) + 3
        _judge_complete(clients, ids, etag, whole, results, aborting, tally)
    return tally


def _judge_complete(
    clients: Clients,
    ids: dict[str, str],
    etag: str,
    whole: bytes,
    results: list[tuple[str, Any]],
    aborting: bool,
    tally: Tally,
) -> None:
    key = ids["Key"]
    completions = results[:-1] if aborting else results
    won = [r for code, r in completions if code == "ok"]
    codes = {code for code, _ in completions if code != "ok"}
    if codes - {"NoSuchUpload"}:
        tally.problems.append(f"{key}: completions answered {codes}")
    for response in won:
        if response["ETag"].strip('"') != etag:
            tally.problems.append(f"{key}: completed as {response['ETag']}, not {etag}")
    aborted = aborting and results[-1][0] == "ok"
    if aborting and results[-1][0] not in ("ok", "NoSuchUpload"):
        tally.problems.append(f"{key}: abort answered {results[-1][0]}")
    tally.saw(f"{len(won)} completed" + (", aborted" if aborted else ""))
    if aborted and won:
        tally.problems.append(f"{key}: aborted and completed both acknowledged")
    client = clients(1)
    code, got = outcome(lambda: client.get_object(Bucket=ids["Bucket"], Key=key))
    if won:
        if code != "ok":
            tally.problems.append(f"{key}: completed, then GET {code}")
        else:
            body = got["Body"].read()
            problem = verify_get(got, body)
            if problem or body != whole:
                tally.problems.append(f"{key}: not whole: {problem}")
    elif code != "NoSuchKey":
        tally.problems.append(f"{key}: never completed, yet GET answered {code}")
    if not won and not aborted:
        tally.problems.append(f"{key}: neither completed nor aborted: {results}")
    uploads = client.list_multipart_uploads(Bucket=ids["Bucket"], Prefix=key)
    if uploads.get("Uploads"):
        tally.problems.append(f"{key}: the upload is still listed")


# -- ListParts racing the end of an upload --------------------------------------


def list_parts_race(
    clients: Clients, bucket: str, *, rounds: int, parts: int, listers: int
) -> Tally:
    """ListParts from several processes while another completes or aborts the upload.

    Each answer must list every part, or be NoSuchUpload: never some of the parts
    (a racing CompleteMultipartUpload computes its InvalidPart from that list).
    """
    tally = Tally()
    for n in range(rounds):
        key = f"lp/{n}"
        ids = {"Bucket": bucket, "Key": key}
        ids["UploadId"] = clients(0).create_multipart_upload(**ids)["UploadId"]
        etags = [
            clients(i).upload_part(**ids, PartNumber=i, Body=b"%d" % i)["ETag"]
            for i in range(1, parts + 1)
        ]
        threads = [
            threading.Thread(
                target=_list_until_gone, args=(clients(i), ids, parts, tally)
            )
            for i in range(listers)
        ]
        for t in threads:
            t.start()
        threading.Event().wait(0.05)
        if n % 2 == 0:
            only_first = {"Parts": [{"PartNumber": 1, "ETag": etags[0]}]}
            clients(listers).complete_multipart_upload(
                **ids, MultipartUpload=only_first
            )
        else:
            clients(listers).abort_multipart_upload(**ids)
        for t in threads:
            t.join(60)
        tally.ops += parts + 2
    return tally


def _list_until_gone(
    client: Any, ids: dict[str, str], parts: int, tally: Tally
) -> None:
    while True:
        code, got = outcome(lambda: client.list_parts(**ids))
        tally.ops += 1
        if code == "NoSuchUpload":
            tally.saw("NoSuchUpload")
            return
        if code != "ok":
            tally.problems.append(f"ListParts answered {code}")
            return
        listed = len(got.get("Parts", []))
        tally.saw("all parts" if listed == parts else f"{listed} of {parts} parts")
        if listed != parts:
            tally.problems.append(f"ListParts listed {listed} of {parts} parts")
