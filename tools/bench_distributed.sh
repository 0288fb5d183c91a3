#!/bin/sh
# Data-parallel speed of `xgrad train --distributed`: images/s with 1 and 2 ranks (1 thread each) on
# synthetic data, with the time spent in the allreduce and the CPU time of the whole job. A
# measurement, never a test. Usage (from the checkout, after building into build/):
#   tools/bench_distributed.sh [MODEL ...]      default: lenet and the zoo's larger models
# Environment: XGRAD (default build/xgrad), SAMPLES (training images per epoch, default 4096),
# EPOCHS (default 2; the first one warms up and is left out of images/s), BATCH (global, default 64),
# RANKS (default "1 2").
set -eu
XGRAD=${XGRAD:-build/xgrad}
SAMPLES=${SAMPLES:-4096}
EPOCHS=${EPOCHS:-2}
BATCH=${BATCH:-64}
RANKS=${RANKS:-"1 2"}
[ $# -gt 0 ] || set -- lenet models/zoo/keras-mnist.json models/zoo/alexnet-cifar.json models/zoo/vgg-cifar.json
command -v mpirun >/dev/null || { echo "bench_distributed: mpirun not found (install openmpi-bin)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench_distributed: python3 is needed to write the data" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# Random uint8 images and labels as .npz laid out like keras.datasets, with the standard library only.
python3 - "$work" "$SAMPLES" <<'PY'
import io, os, sys, zipfile
def npy(shape, data, dtype="|u1"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, repr(tuple(shape)))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data
def write(path, sample_shape, n):
    size = 1
    for d in sample_shape: size *= d
    with zipfile.ZipFile(path, "w") as z:
        for split, count in (("train", n), ("test", 64)):
            z.writestr("x_%s.npy" % split, npy([count] + sample_shape, os.urandom(count * size)))
            z.writestr("y_%s.npy" % split, npy([count], bytes(b % 10 for b in os.urandom(count))))
work, n = sys.argv[1], int(sys.argv[2])
write(os.path.join(work, "gray28.npz"), [28, 28], n)
write(os.path.join(work, "rgb32.npz"), [32, 32, 3], n)
PY

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $SAMPLES images per epoch, batch $BATCH, $EPOCHS epochs"
printf '%-32s %5s %12s %10s %14s %12s %10s\n' model ranks "images/s" speedup "allreduce ms" "MB/step" "CPU s"
for model in "$@"; do
  data=$work/gray28.npz
  case $("$XGRAD" summary --model "$model" | grep -m1 ' input ') in *"3, 32, 32"*) data=$work/rgb32.npz ;; esac
  base=
  for ranks in $RANKS; do
    log=$work/curve.csv
    out=$( { /usr/bin/time -f "cpu %U %S" mpirun --oversubscribe --bind-to none -np "$ranks" "$XGRAD" train \
      --distributed --model "$model" --data "$data" --epochs "$EPOCHS" --batch "$BATCH" --optimizer sgd \
      --lr 0.01 --threads 1 --test-samples 1 --log "$log" --out "$work/m.json" 2>&1; } 2>&1 )
    # images/s over the epochs after the first (their seconds are the CSV's last column)
    ips=$(awk -F, -v n="$SAMPLES" 'NR > 2 { s += $NF; e++ } END { if (s > 0) printf "%.0f", n * e / s }' "$log")
    ms=$(echo "$out" | sed -n 's/.*(\([0-9.]*\) ms per step.*/\1/p')
    mb=$(echo "$out" | sed -n 's/.*floats (\([0-9.]*\) MB) per step.*/\1/p')
    cpu=$(echo "$out" | awk '/^cpu / { printf "%.1f", $2 + $3 }')
    [ -n "$base" ] || base=$ips
    printf '%-32s %5s %12s %9.2fx %14s %12s %10s\n' "$(basename "$model")" "$ranks" "$ips" \
      "$(echo "$ips $base" | awk '{ print $1 / $2 }')" "$ms" "$mb" "$cpu"
  done
done
