"""Mount the S3 app inside another WSGI application, under /s3.

Run: python examples/embed_wsgi.py   (serves one request to itself, then exits)

The S3 app is a plain WSGI callable from s3server.create_app(); any WSGI server or
dispatcher can host it. Clients then use http://host:port/s3 as their endpoint URL;
SigV4 signs the full path, /s3 included, so nothing is rewritten.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import waitress.server

from s3server import create_app, make_user

user = make_user("EMBEDKEY", "embed-secret")
s3_app = create_app(users=[user])  # memory backend; pass data_dir=... for files


def site(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The host application: /s3/... goes to S3, everything else is ours."""
    path = environ.get("PATH_INFO", "")
    if path == "/s3" or path.startswith("/s3/"):
        # Strip the mount point for routing; REQUEST_URI (what was signed) stays.
        environ = {**environ, "PATH_INFO": path[3:] or "/", "SCRIPT_NAME": "/s3"}
        return s3_app(environ, start_response)  # type: ignore[no-any-return]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the rest of the site\n"]


server: Any = waitress.server.create_server(site, host="127.0.0.1", port=0)
threading.Thread(target=server.run, daemon=True).start()
endpoint = f"http://127.0.0.1:{server.effective_port}/s3"
client = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=user.access_key,
    aws_secret_access_key=user.secret_key,
    region_name="us-east-1",
)
client.create_bucket(Bucket="mounted")
client.put_object(Bucket="mounted", Key="hello.txt", Body=b"hi from a mounted app")
print(client.get_object(Bucket="mounted", Key="hello.txt")["Body"].read())
server.close()
print("ok")
