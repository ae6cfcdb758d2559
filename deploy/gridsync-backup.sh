#!/bin/sh
# One online backup of the gridsync database, then delete backups older than
# KEEP_DAYS. Safe while the server runs (SQLite's online backup API: the file is
# a snapshot of one instant, written beside the target and renamed when complete).
#
#   gridsync-backup.sh [BACKUP_DIR [KEEP_DAYS]]
#
# Environment: GRIDSYNC_DATA_DIR (/var/lib/gridsync), BACKUP_DIR (/var/backups/gridsync),
# KEEP_DAYS (30), GRIDSYNC (/opt/gridsync/.venv/bin/gridsync). With GRIDSYNC_DATABASE_URL
# set (a district on PostgreSQL) the backup is a pg_dump of one snapshot, gridsync-<time>.dump.
# Run by gridsync-backup.timer, or from cron as the gridsync user:
#   30 2 * * * /opt/gridsync/deploy/gridsync-backup.sh
#
# The secret (GRIDSYNC_SECRET or secret.key) is NOT in the backups: keep a copy apart.
set -eu
DATA_DIR="${GRIDSYNC_DATA_DIR:-/var/lib/gridsync}"
BACKUP_DIR="${1:-${BACKUP_DIR:-/var/backups/gridsync}}"
KEEP_DAYS="${2:-${KEEP_DAYS:-30}}"
GRIDSYNC="${GRIDSYNC:-/opt/gridsync/.venv/bin/gridsync}"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
ext=db
[ -z "${GRIDSYNC_DATABASE_URL:-}" ] || ext=dump
"$GRIDSYNC" backup --quiet --data-dir "$DATA_DIR" --to "$BACKUP_DIR/gridsync-$stamp.$ext"
find "$BACKUP_DIR" -maxdepth 1 -name "gridsync-*.$ext" -mtime +"$KEEP_DAYS" -delete
