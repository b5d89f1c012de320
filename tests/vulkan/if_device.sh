#!/usr/bin/env bash
# tests/vulkan/if_device.sh LEGACYGPU ARGS...: runs `LEGACYGPU ARGS...` when this machine
# has a Vulkan device (lavapipe counts), else says why and exits 77, which CTest reports as
# skipped (SKIP_RETURN_CODE). CI has lavapipe from mesa-vulkan-drivers, so nothing skips there.
set -euo pipefail
cli=$1
shift
if ! "$cli" info --json | /usr/bin/python3 -c '
import json, sys
devs = [d for d in json.load(sys.stdin).get("devices", []) if d.get("backend", "vulkan") == "vulkan"]
sys.exit(0 if devs else 1)'; then
    echo "SKIP: no Vulkan device on this machine (install mesa-vulkan-drivers for lavapipe)"
    exit 77
fi
exec "$cli" "$@"
