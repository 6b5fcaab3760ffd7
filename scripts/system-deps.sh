#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo run for real (Prometheus, an OCI registry, skopeo,
# umoci, htpasswd, dockerd, openssl for test certificates) when they are missing. Packages start no services: the tests start them.
# --optional: warn instead of failing when they cannot be installed (the demo falls back without them).
set -u
optional=false
[ "${1:-}" = "--optional" ] && optional=true

declare -A package_of=(
  [prometheus]=prometheus [promtool]=prometheus [docker-registry]=docker-registry
  [skopeo]=skopeo [umoci]=umoci [htpasswd]=apache2-utils [dockerd]=docker.io [openssl]=openssl
)
missing=()
for bin in "${!package_of[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${package_of[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "model-canary: installing Debian packages: $packages" >&2
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null; then
    exit 0
  fi
fi
echo "model-canary: missing Debian packages: $packages" >&2
echo "  install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages" >&2
$optional && exit 0
exit 1
