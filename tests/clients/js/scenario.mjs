// The shared client scenario, step by step, with the AWS SDK for JavaScript v3.
//
// Run by tests/clients/test_js_sdk.py as `node scenario.mjs '<steps JSON>'`.
// Reads S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION and S3_BUCKET from the
// environment; each step is an object {op, ...arguments}; prints one JSON array
// with each step's result, or {error: {name, code, status, message}} where the SDK
// threw (the next steps still run, so a test sees what a user would see). It talks
// only to the endpoint it is given. Exit status 0 unless the script itself breaks.

import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";

import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const Bucket = env("S3_BUCKET");
const client = new S3Client({
  endpoint: env("S3_ENDPOINT"),
  region: env("S3_REGION"),
  // No forcePathStyle: with an IP-address endpoint the SDK addresses buckets
  // path-style by itself (with a host name it would use `bucket.<host>`).
  maxAttempts: 1,
  credentials: {
    accessKeyId: env("S3_ACCESS_KEY"),
    secretAccessKey: env("S3_SECRET_KEY"),
  },
});

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

// CopySource is sent as given: S3 wants it URL-encoded, '/' kept between segments.
const copySource = (key) =>
  `${Bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

const listAll = async ({ prefix, delimiter, pageSize }) => {
  const pages = paginateListObjectsV2(
    { client, pageSize },
    { Bucket, Prefix: prefix, Delimiter: delimiter },
  );
  const out = { keys: [], prefixes: [], pages: 0 };
  for await (const page of pages) {
    out.pages += 1;
    out.keys.push(...(page.Contents ?? []).map((o) => o.Key));
    out.prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix));
  }
  return out;
};

const ops = {
  createBucket: async () => {
    await client.send(new CreateBucketCommand({ Bucket }));
    return {};
  },
  put: async ({ key, file }) => {
    const out = await client.send(
      new PutObjectCommand({ Bucket, Key: key, Body: readFileSync(file) }),
    );
    return { etag: out.ETag };
  },
  // lib-storage's Upload: a stream of unknown length, multipart in partSize parts.
  upload: async ({ key, file, partSize }) => {
    const upload = new Upload({
      client,
      params: { Bucket, Key: key, Body: createReadStream(file) },
      partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const parts = new Set();
    upload.on("httpUploadProgress", (p) => p.part && parts.add(p.part));
    const out = await upload.done();
    return { etag: out.ETag, parts: parts.size };
  },
  list: listAll,
  download: async ({ key, file }) => {
    const got = await client.send(new GetObjectCommand({ Bucket, Key: key }));
    await pipeline(got.Body, createWriteStream(file));
    return { sha256: sha256(readFileSync(file)), length: got.ContentLength };
  },
  range: async ({ key, range }) => {
    const got = await client.send(
      new GetObjectCommand({ Bucket, Key: key, Range: range }),
    );
    const bytes = Buffer.from(await got.Body.transformToByteArray());
    return {
      status: got.$metadata.httpStatusCode,
      contentRange: got.ContentRange,
      base64: bytes.toString("base64"),
    };
  },
  head: async ({ key }) => {
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
    return { length: head.ContentLength, etag: head.ETag };
  },
  copy: async ({ source, key }) => {
    const out = await client.send(
      new CopyObjectCommand({ Bucket, Key: key, CopySource: copySource(source) }),
    );
    return { etag: out.CopyObjectResult?.ETag };
  },
  presign: async ({ key, expiresIn }) => ({
    url: await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: key }), {
      expiresIn,
    }),
  }),
  // Delete recursively: every listed key, in DeleteObjects batches of 1000.
  deletePrefix: async ({ prefix }) => {
    const { keys } = await listAll({ prefix });
    const out = { deleted: 0, errors: [] };
    for (let at = 0; at < keys.length; at += 1000) {
      const batch = keys.slice(at, at + 1000).map((Key) => ({ Key }));
      const answer = await client.send(
        new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch } }),
      );
      out.deleted += (answer.Deleted ?? []).length;
      out.errors.push(...(answer.Errors ?? []).map((e) => e.Code));
    }
    return out;
  },
  deleteBucket: async () => {
    await client.send(new DeleteBucketCommand({ Bucket }));
    return {};
  },
};

const results = [];
for (const step of JSON.parse(process.argv[2] ?? "[]")) {
  const run = ops[step.op];
  if (!run) throw new Error(`unknown step ${step.op}`);
  try {
    results.push(await run(step));
  } catch (err) {
    // What the SDK tells its user: the error's name is S3's Code.
    results.push({
      error: {
        name: err.name,
        code: err.Code ?? null,
        status: err.$metadata?.httpStatusCode ?? null,
        message: err.message,
      },
    });
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
