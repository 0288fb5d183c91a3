#!/usr/bin/env bash
# Sets up, builds and runs xgrad's main job.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/setup.sh" build
"$root/build/xgrad" ops
