#!/usr/bin/env bash
# Makes PostgreSQL answer on 127.0.0.1:5432 for the tests: does nothing when it already does,
# starts the installed cluster when it is stopped, installs Debian's package when it is absent.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if command -v pg_isready >/dev/null && ready; then
  echo "PostgreSQL is running."
  exit 0
fi

installed_here=0
if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "PostgreSQL is not installed; installing Debian's package ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  installed_here=1
fi

version="$(ls /etc/postgresql | sort -V | tail -1)"
if [ "$installed_here" = 1 ]; then
  # A cluster made just for these tests: let local TCP connections in without a password,
  # as on the development machines.
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
fi
echo "starting PostgreSQL $version ..."
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do
  ready && { echo "PostgreSQL is running."; exit 0; }
  sleep 1
done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
