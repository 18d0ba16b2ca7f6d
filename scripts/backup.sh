#!/usr/bin/env bash
# Back up the database and the media files into a new timestamped folder.
#
#   DATABASE_URL=postgres://... MEDIA_ROOT=/app/media scripts/backup.sh [backups]
#
# Writes <folder>/<UTC time>/database.dump (pg_dump's custom format: compressed, and
# pg_restore can restore it into a database of a later PostgreSQL), media.tar.gz (everything
# under MEDIA_ROOT) and SHA256SUMS, then prints the new folder's path. The dump is taken in one
# transaction, so it is consistent while the app runs. docs/operations.md has the whole routine.
set -euo pipefail

: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL database to back up}"
MEDIA_ROOT=${MEDIA_ROOT:-"$(cd "$(dirname "$0")/.." && pwd)/var/media"}
dest="${1:-backups}/$(date -u +%Y%m%dT%H%M%SZ)"

mkdir -p "$dest"
# No owner or grants: the restore may run as a different database user.
pg_dump --format=custom --no-owner --no-privileges --file "$dest/database.dump" "$DATABASE_URL"
if [ -d "$MEDIA_ROOT" ]; then
  tar -C "$MEDIA_ROOT" -czf "$dest/media.tar.gz" .
else
  tar -czf "$dest/media.tar.gz" --files-from /dev/null
fi
(cd "$dest" && sha256sum database.dump media.tar.gz > SHA256SUMS)
echo "$dest"
