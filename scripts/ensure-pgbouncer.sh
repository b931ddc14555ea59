#!/usr/bin/env bash
# Make sure PgBouncer is installed for the test that runs the scheduler lock behind a real
# transaction-mode pool (tests/bot/test_leader_pgbouncer_pg.py starts its own instance on a
# free loopback port). Installs Debian's package with apt-get when missing and running as root,
# without starting the package's own service; otherwise says how. Under CI=true a missing
# PgBouncer is an error, as a missing PostgreSQL is.
set -euo pipefail

if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's pgbouncer for the scheduler-lock test…"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d answering 101 keeps the package from starting its own daemon (port 6432).
  policy=/usr/sbin/policy-rc.d
  created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=1
  fi
  trap '[ -n "$created" ] && rm -f "$policy"' EXIT
  apt-get install -y pgbouncer >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y pgbouncer >/dev/null; }
  exit 0
fi
message="pgbouncer is missing: run 'sudo apt-get install -y pgbouncer' (its test will be skipped)"
if [ "${CI:-}" = "true" ]; then
  echo "$message" >&2
  exit 1
fi
echo "$message"
