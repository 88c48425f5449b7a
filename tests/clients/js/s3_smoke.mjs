// The AWS SDK for JavaScript v3 against s3server: run by tests/integration/test_js_sdk.py.
//
// Reads S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION and S3_BUCKET from the
// environment, does PutObject (string, Buffer, and stream bodies: the SDK sends
// streams as aws-chunked with a CRC32 trailer), GetObject with checksum validation,
// HeadObject, ListObjectsV2 and DeleteObject, and prints one JSON document with what
// it saw, including the headers the SDK put on each PutObject. It talks only to the
// endpoint it is given and exits non-zero on any error.

import { createHash } from "node:crypto";
import { Readable } from "node:stream";

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const bucket = env("S3_BUCKET");
const client = new S3Client({
  endpoint: env("S3_ENDPOINT"),
  region: env("S3_REGION"),
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: {
    accessKeyId: env("S3_ACCESS_KEY"),
    secretAccessKey: env("S3_SECRET_KEY"),
  },
});

// Observe (never change) the headers of each request as it is sent.
const sent = {};
client.middlewareStack.add(
  (next, context) => async (args) => {
    if (context.commandName === "PutObjectCommand") {
      const h = args.request.headers;
      sent[args.input.Key] = {
        "x-amz-content-sha256": h["x-amz-content-sha256"] ?? null,
        "content-encoding": h["content-encoding"] ?? null,
        "transfer-encoding": h["transfer-encoding"] ?? null,
        "x-amz-trailer": h["x-amz-trailer"] ?? null,
        "x-amz-decoded-content-length": h["x-amz-decoded-content-length"] ?? null,
        "x-amz-checksum-crc32": h["x-amz-checksum-crc32"] ?? null,
      };
    }
    return next(args);
  },
  { step: "finalizeRequest", name: "recordSentHeaders", priority: "low" },
);

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

// A few MiB of a repeating pattern, handed over in 64 KiB pieces as a file stream
// would be (the SDK frames each piece as one aws-chunked chunk).
const STREAM_SIZE = 3 * 1024 * 1024 + 123;
const pattern = Buffer.alloc(STREAM_SIZE, 0);
for (let i = 0; i < STREAM_SIZE; i++) pattern[i] = (i * 7) % 251;
const pieces = function* () {
  for (let at = 0; at < STREAM_SIZE; at += 64 * 1024) {
    yield pattern.subarray(at, Math.min(at + 64 * 1024, STREAM_SIZE));
  }
};

const results = { puts: {}, gets: {}, heads: {} };

const put = async (key, body, extra = {}) => {
  const out = await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }),
  );
  results.puts[key] = { etag: out.ETag, checksumCRC32: out.ChecksumCRC32 ?? null };
};

await put("string.txt", "hello from the JS SDK");
await put("buffer.bin", Buffer.from("a buffer body"));
await put("stream-known-length.bin", Readable.from(pieces()), {
  ContentLength: STREAM_SIZE,
});
// A stream without ContentLength cannot go through PutObject: the SDK sets
// x-amz-decoded-content-length from Content-Length and node refuses the header
// value "undefined" (ERR_HTTP_INVALID_HEADER_VALUE) before sending anything.
// Streams of unknown length are @aws-sdk/lib-storage's Upload (multipart).

for (const key of Object.keys(results.puts)) {
  const got = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
  );
  // Reading the body runs the SDK's checksum validation; a mismatch throws.
  const bytes = Buffer.from(await got.Body.transformToByteArray());
  results.gets[key] = {
    length: bytes.length,
    sha256: sha256(bytes),
    checksumCRC32: got.ChecksumCRC32 ?? null,
    contentEncoding: got.ContentEncoding ?? null,
  };
  const head = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
  );
  results.heads[key] = {
    contentLength: head.ContentLength,
    etag: head.ETag,
    checksumCRC32: head.ChecksumCRC32 ?? null,
  };
}

const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
results.listed = (listed.Contents ?? []).map((o) => ({ key: o.Key, size: o.Size }));

for (const key of Object.keys(results.puts)) {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}
const after = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
results.listedAfterDelete = (after.Contents ?? []).map((o) => o.Key);

results.sent = sent;
results.expected = {
  streamSize: STREAM_SIZE,
  streamSha256: sha256(pattern),
};
process.stdout.write(JSON.stringify(results, null, 2) + "\n");
