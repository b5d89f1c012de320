#!/usr/bin/env bash
# needs.sh PATH COMMAND...: runs COMMAND when PATH (shared test material, e.g.
# ../shared/models/resnet50) exists; else says which path is missing and exits 77, which
# CTest reports as skipped (SKIP_RETURN_CODE), never as passed or failed. A clone without
# ../shared skips these tests; CI, which has it, runs them all. See README ("Test models").
set -u
need=$1
shift
if [ ! -e "$need" ]; then
  echo "SKIPPED: needs $need (shared test material; see README, 'Test models')"
  exit 77
fi
exec "$@"
