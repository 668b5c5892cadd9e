#!/bin/sh
# Entrypoint of the locally built `postgres:*` image (scripts/build-base-images.sh). It keeps the
# part of the official image's contract that this repository relies on, so docker-compose.yml
# works the same with either image:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default
#   postgres), POSTGRES_DB (default: the user), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD
#   (default scram-sha-256), PGDATA, and *.sql / *.sh files in /docker-entrypoint-initdb.d.
# The data folder is initialised on the first start only; the server then runs as `postgres`,
# listening on every interface of the container.
set -eu

if [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
  exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA"
  chmod 03775 /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$method" != 'trust' ]; then
    echo 'postgres-entrypoint: POSTGRES_PASSWORD is not set; set it (or POSTGRES_HOST_AUTH_METHOD=trust for throwaway databases).' >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words on purpose
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$method" \
    --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"

  # A server on the Unix socket only, so health checks over TCP fail until initialisation is done.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != 'postgres' ]; then
    printf 'CREATE DATABASE :"db";\n' |
      psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres -q --set=db="$db"
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        echo "postgres-entrypoint: running $f" >&2
        # shellcheck disable=SC1090 # the operator's own init scripts
        . "$f"
        ;;
      *.sql) echo "postgres-entrypoint: running $f" >&2; psql -v ON_ERROR_STOP=1 --username="$user" --dbname="$db" -q -f "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo 'postgres-entrypoint: database initialised' >&2
fi

exec "$@"
