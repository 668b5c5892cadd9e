#!/usr/bin/env bash
# The Docker part of CI (.ci/run calls it after `npm test`): the base images and the local stack,
# proven on a real Docker engine.
#
# When no engine answers, it installs Debian's docker.io (+ docker-compose, debootstrap) and starts
# a dockerd of its own whose state lives in a temporary folder, so every run starts from nothing
# and nothing is kept; it stops that engine and removes the folder at the end, on failure too.
# Then: scripts/build-base-images.sh (no registry is reachable), then npm run e2e:docker.
# Only the stack's own containers and loopback are contacted, besides Debian's and npm's mirrors.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'ci-docker: %s\n' "$*" >&2; }
started=$SECONDS

engine_dir=''
dockerd_pid=''
stop_engine() {
  local status=$?
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    log 'stopping the Docker engine this run started'
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      log 'dockerd did not stop within 30 s; killing it'
      kill -KILL "$dockerd_pid" 2>/dev/null || true
    fi
  fi
  if [ -n "$engine_dir" ] && [ -d "$engine_dir" ]; then
    # overlay mounts of containers that were still up when the engine died
    awk -v d="$engine_dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$engine_dir"
  fi
  if [ "$status" -ne 0 ] && [ -n "$engine_dir" ] && [ -f "$engine_dir.log" ]; then
    log 'last lines of the engine log:'
    tail -n 20 "$engine_dir.log" >&2 || true
  fi
  if [ -n "$engine_dir" ]; then rm -f "$engine_dir.log"; fi
  return "$status"
}

if ! docker info >/dev/null 2>&1; then
  need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    need+=(docker-compose)
  fi
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  # A short path: containerd's sockets live under the exec root and socket paths are limited.
  engine_dir="$(mktemp -d /tmp/qdock.XXXXXX)"
  trap stop_engine EXIT
  log "starting dockerd (state in $engine_dir, removed at the end)"
  dockerd --host "unix://$engine_dir/docker.sock" --data-root "$engine_dir/data" \
    --exec-root "$engine_dir/exec" --pidfile "$engine_dir/docker.pid" >"$engine_dir.log" 2>&1 &
  dockerd_pid=$!
  export DOCKER_HOST="unix://$engine_dir/docker.sock"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || {
      log 'dockerd exited at start'
      exit 1
    }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || {
    log 'dockerd did not answer within 30 s'
    exit 1
  }
else
  log "using the running Docker engine ($(docker info --format '{{.ServerVersion}}'))"
  command -v debootstrap >/dev/null 2>&1 || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
fi

t0=$SECONDS
scripts/build-base-images.sh
log "base images ready in $((SECONDS - t0)) s"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' >&2

t0=$SECONDS
npm run e2e:docker
log "e2e:docker took $((SECONDS - t0)) s; the Docker part of CI took $((SECONDS - started)) s"
