#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database and MEDIA_ROOT.
#
#   DATABASE_URL=postgres://.../new_empty_db MEDIA_ROOT=/app/media scripts/restore.sh FOLDER
#
# Checks the files against SHA256SUMS, refuses a database that already has tables (restoring
# over live data would mix two states), restores in one transaction (all or nothing) and
# unpacks the media files. Then point the app at the database and run `manage.py migrate`
# (nothing to do unless the code is newer than the backup). See docs/operations.md.
set -euo pipefail

src=${1:?usage: scripts/restore.sh BACKUP_FOLDER}
: "${DATABASE_URL:?set DATABASE_URL to the empty PostgreSQL database to restore into}"
MEDIA_ROOT=${MEDIA_ROOT:-"$(cd "$(dirname "$0")/.." && pwd)/var/media"}

(cd "$src" && sha256sum --check --quiet SHA256SUMS)
tables=$(psql "$DATABASE_URL" -tAc \
  "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [ "$tables" != "0" ]; then
  echo "The database already has $tables tables: restore into a new, empty database." >&2
  exit 1
fi
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname "$DATABASE_URL" "$src/database.dump"
mkdir -p "$MEDIA_ROOT"
tar -C "$MEDIA_ROOT" -xzf "$src/media.tar.gz"
echo "Restored $src"
