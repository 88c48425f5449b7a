"""Buckets and objects with unmodified boto3 against an in-process server.

Run: python examples/boto3_basics.py
Against a standalone server instead, drop ServerThread and pass the endpoint_url and
keys that `s3server` printed at start.
"""

from __future__ import annotations

import boto3

from s3server import ServerThread

with ServerThread() as server:  # memory backend, 127.0.0.1, a free port
    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="photos")
    s3.put_object(
        Bucket="photos",
        Key="2024/beach.jpg",
        Body=b"...jpeg bytes...",
        ContentType="image/jpeg",
        Metadata={"camera": "x100"},
    )
    obj = s3.get_object(Bucket="photos", Key="2024/beach.jpg")
    print(obj["ContentType"], obj["Metadata"], obj["Body"].read())
    listing = s3.list_objects_v2(Bucket="photos", Prefix="2024/")
    print([o["Key"] for o in listing["Contents"]])
    s3.delete_object(Bucket="photos", Key="2024/beach.jpg")
    s3.delete_bucket(Bucket="photos")
    print("ok")
