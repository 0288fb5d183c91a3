#!/usr/bin/env python3
"""PyTorch peer of `xgrad bench`: the same LeNet, initialisation, batch sizes and thread count on
synthetic data. Prints one JSON object of figures (medians of --repeats runs) on stdout.

Run as `xgrad bench` does: OPENBLAS_NUM_THREADS=1 python3 tools/bench_torch.py --threads 2
(PyTorch's best setting here: its own threads for the batch, OpenBLAS pinned to one).
Dev/bench only: xgrad never needs PyTorch at run time."""
import argparse
import json
import resource
import statistics
import time

import torch
from torch import nn


def lenet(act):
    a = nn.Sigmoid if act == "sigmoid" else nn.ReLU
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5), a(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), a(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(256, 120), a(), nn.Linear(120, 84), a(), nn.Linear(84, 10))
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)  # Keras' glorot_uniform, zero biases
            nn.init.zeros_(m.bias)
    return net


def timed(fn, repeats):
    """Median seconds of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def train_rate(act, opt_name, batch, steps, repeats):
    net = lenet(act)
    opt = (torch.optim.SGD(net.parameters(), lr=0.9) if opt_name == "sgd"
           else torch.optim.Adam(net.parameters(), lr=1e-3))
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(steps, batch, 1, 28, 28)
    y = torch.randint(0, 10, (steps, batch))

    def run():
        for s in range(steps):
            opt.zero_grad()
            loss_fn(net(x[s]), y[s]).backward()
            opt.step()

    return steps * batch / timed(run, repeats)


def infer_rate(batch, steps, repeats):
    net = lenet("sigmoid").eval()
    x = torch.rand(batch, 1, 28, 28)

    def run():
        with torch.no_grad():
            for _ in range(steps):
                net(x)

    return steps * batch / timed(run, repeats)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=60, help="training steps per timed run")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    r = args.repeats
    out = {
        "threads": args.threads,
        "torch": torch.__version__,
        "train_sgd_b32_img_s": train_rate("sigmoid", "sgd", 32, args.steps, r),
        "train_adam_relu_b64_img_s": train_rate("relu", "adam", 64, args.steps // 2, r),
        "infer_b256_img_s": infer_rate(256, max(args.steps // 6, 4), r),
        "latency_b1_us": 1e6 / infer_rate(1, args.steps * 4, r),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
