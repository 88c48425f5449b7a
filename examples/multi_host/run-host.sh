#!/bin/sh
# Start s3server on this host over the shared data directory, without systemd.
# Usage: run-host.sh /mnt/s3data [workers]
# Every host runs the same command with the same users file; a load balancer
# (nginx.conf) spreads clients over them.
set -eu

DATA_DIR=${1:?usage: run-host.sh DATA_DIR [WORKERS]}
WORKERS=${2:-$(nproc)}
HERE=$(cd "$(dirname "$0")" && pwd)

# Refuse to start on a filesystem that cannot keep several hosts consistent.
python3 "$HERE/check_shared_fs.py" "$DATA_DIR"

exec s3server \
    --host 0.0.0.0 \
    --port "${S3SERVER_PORT:-9000}" \
    --data-dir "$DATA_DIR" \
    --workers "$WORKERS" \
    --users "${S3SERVER_USERS:-/etc/s3server/users.toml}"
