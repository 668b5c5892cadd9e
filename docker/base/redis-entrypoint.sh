#!/bin/sh
# Entrypoint of the locally built `redis:*` image (scripts/build-base-images.sh). Like the official
# image: a first argument that is a flag or a .conf file goes to redis-server, the server runs as
# `redis` in /data, and protected mode is off (the container's network is the boundary; Debian's
# build would otherwise refuse every client that is not on loopback).
set -eu

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ]; then
  if [ "$(id -u)" = '0' ]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
  fi
  case " $* " in
    *' --protected-mode '*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
fi

exec "$@"
