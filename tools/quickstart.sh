#!/usr/bin/env bash
# Sets up, builds and runs xgrad's main job: the reference recipe (sigmoid LeNet, SGD lr 0.9,
# batch 32, 5 epochs, Glorot init, seed 0) on Fashion-MNIST, then the test-set evaluation.
# Extra arguments go to `xgrad train` (e.g. --seed 1 --threads 1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/setup.sh" build
"$root/build/xgrad" train --model "$root/models/lenet.json" --out lenet-trained.json "$@"
"$root/build/xgrad" eval --model lenet-trained.json
