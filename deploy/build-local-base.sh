#!/usr/bin/env bash
# Builds a local stand-in for node:20-bookworm-slim, for machines that reach Debian's mirrors and
# npm but no container registry: a minimal Debian bookworm root file system (debootstrap) plus
# this machine's Node 20 and npm, imported as a podman image. Then build Brook on it and check it:
#
#   deploy/build-local-base.sh                       # -> localhost/brook-base:node20-bookworm
#   podman build --network host -f deploy/Dockerfile \
#     --build-arg BASE_IMAGE=localhost/brook-base:node20-bookworm -t localhost/brook:dev .
#   deploy/check-image.sh localhost/brook:dev
#
# `--network host` lets `npm ci` reach the registry without a podman bridge network, whose
# iptables rules would touch the host's firewall. Needs root, debootstrap and podman
# (Debian: apt-get install debootstrap podman). Usage: build-local-base.sh [IMAGE]
#
# Inside a container that has hybrid cgroups (crun refuses them) and no CAP_SYS_RESOURCE (no
# raising rlimits), use runc (apt-get install runc) and the host's own limits; behind a
# TLS-intercepting proxy, lend npm the host's CA bundle for the build only:
#   printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >/var/tmp/npmrc
#   podman --runtime runc build --network host \
#     --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096 \
#     -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
#     -v /var/tmp/npmrc:/usr/local/etc/npmrc:ro \
#     -f deploy/Dockerfile --build-arg BASE_IMAGE=localhost/brook-base:node20-bookworm \
#     -t localhost/brook:dev .
# (deploy/check-image.sh says how to pass the same runtime and limits to `podman run`.)
set -euo pipefail

image=${1:-localhost/brook-base:node20-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

node_bin=$(command -v node)
npm_cli=$(readlink -f "$(command -v npm)")
# npm lives in <prefix>/lib/node_modules/npm/bin/npm-cli.js; copy the whole package.
npm_dir=$(dirname "$(dirname "$npm_cli")")
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
if [[ $node_major != 20 ]]; then
  echo "build-local-base: $node_bin is Node $node_major; the image is meant to carry Node 20" >&2
  exit 1
fi

work=$(mktemp -d /var/tmp/brook-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

echo "debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# The official node images keep node and npm under /usr/local; so does this one, so a
# Dockerfile written for them works unchanged.
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# Slim as Debian's -slim images: no package lists, downloaded .debs, docs, man pages or locales.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/*

chroot "$rootfs" /usr/local/bin/node --version >/dev/null
tar --numeric-owner -C "$rootfs" -c . |
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    - "$image" >/dev/null
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image"
