#!/usr/bin/env bash
# Runs the AWS SDK for JavaScript v3 compatibility suite (test/*.test.mjs) against CIRRUSD with
# node's built-in test runner. Installs the pinned packages (npm ci, from package-lock.json)
# when node_modules is missing or older than the lock file; scripts/test installs them first.
# Usage: run.sh CIRRUSD
set -euo pipefail
cirrusd=$(realpath "${1:?usage: run.sh CIRRUSD}")
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "node $(node --version)"
CIRRUSD=$cirrusd exec node --test test/sdk.test.mjs test/account.test.mjs
