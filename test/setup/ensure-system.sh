#!/usr/bin/env bash
# Makes sure the system programs runnerops' tests (or `npm run dev`) need are present and Docker answers.
# On Debian as root it installs what is missing; elsewhere it says exactly what is missing and stops.
set -euo pipefail

need_cmds=(redis-server dockerd nix-store busybox systemd-analyze shellcheck)
declare -A pkg_of=([redis-server]=redis-server [dockerd]=docker.io [nix-store]=nix-bin [busybox]=busybox-static [systemd-analyze]=systemd [shellcheck]=shellcheck)

missing=()
for cmd in "${need_cmds[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
done
# Debian's busybox (dynamic) is not enough for the images: we need the static one.
if command -v busybox >/dev/null && ! { ldd "$(command -v busybox)" 2>&1 || true; } | grep -q 'not a dynamic'; then
  missing+=(busybox-static)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run this again" >&2
    exit 1
  fi
fi


# A Docker Engine that answers: start dockerd when none does (and we may).
if ! timeout 10 docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "no Docker Engine answers on /var/run/docker.sock; start dockerd (or add yourself to the docker group)" >&2
    exit 1
  fi
  mkdir -p /var/log
  nohup dockerd >/var/log/runnerops-test-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    if timeout 5 docker info >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  timeout 10 docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/runnerops-test-dockerd.log" >&2; exit 1; }
fi
