#!/usr/bin/env python3
"""PyTorch peer of `xgrad bench`: reads the same xgrad model files (models/FORMAT.md), builds them
as PyTorch modules, and measures training (torch.optim, the same optimizer settings), inference at
batch 256 and latency at batch 1 on synthetic data. Prints one JSON object: {model name: figures}.

Run as `xgrad bench` does: OPENBLAS_NUM_THREADS=1 python3 tools/bench_torch.py --threads 2 --spec S.json
where S.json lists {"name", "path", "batch", "steps", "optim"} per model.
Dev/bench only: xgrad never needs PyTorch at run time."""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads(size, k, s, d):
    """Keras/TensorFlow "same": the extra padded cell goes after (bottom/right)."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class Graph(nn.Module):
    """Runs an xgrad graph's nodes in file order (the writer lists each after its inputs)."""

    def __init__(self, model):
        super().__init__()
        g = model["graph"]
        self.nodes = g["nodes"]
        self.params = nn.ParameterDict()
        self.names = {}
        for i, p in enumerate(g["params"]):
            t = torch.empty(p["shape"])
            if p["init"] == "zeros":
                nn.init.zeros_(t)
            elif len(p["shape"]) == 2:  # dense [in, out]: torch's fans are (out, in)
                nn.init.xavier_uniform_(t.T)
            else:
                nn.init.xavier_uniform_(t)
            key = "p%d" % i
            self.params[key] = nn.Parameter(t)
            self.names[p["name"]] = key
        self.loss_node = g["outputs"]["loss"]
        self.logits_node = g["outputs"].get("logits")

    def run(self, feeds, want):
        v = dict(feeds)
        for n in self.nodes:
            ins = [self.params[self.names[i]] if i in self.names else v[i] for i in n["inputs"]]
            v[n["name"]] = self.op(n["op"], n.get("attrs", {}), ins)
            if n["name"] == want:
                return v[want]
        return v[want]

    @staticmethod
    def op(kind, a, x):
        if kind == "conv2d":
            kh, kw = x[1].shape[2], x[1].shape[3]
            s, d = pair(a.get("stride", 1)), pair(a.get("dilation", 1))
            p, inp = a.get("padding", 0), x[0]
            if p == "same":
                t, b = same_pads(inp.shape[2], kh, s[0], d[0])
                l, r = same_pads(inp.shape[3], kw, s[1], d[1])
                if (t, l) == (b, r):
                    p = (t, l)
                else:
                    inp, p = F.pad(inp, (l, r, t, b)), 0
            elif p == "valid":
                p = 0
            else:
                p = pair(p)
            return F.conv2d(inp, x[1], x[2] if len(x) > 2 else None, s, p, d, a.get("groups", 1))
        if kind in ("max_pool2d", "avg_pool2d"):
            k = pair(a["kernel"])
            s = pair(a.get("stride", a["kernel"]))
            p = a.get("padding", 0)
            if p == "valid":
                p = 0
            if p == "same":
                raise ValueError("bench_torch.py: same padding of pools is not supported")
            if kind == "max_pool2d":
                return F.max_pool2d(x[0], k, s, pair(p))
            return F.avg_pool2d(x[0], k, s, pair(p), count_include_pad=False)
        if kind == "matmul":
            return torch.addmm(x[2], x[0], x[1]) if len(x) > 2 else x[0] @ x[1]
        if kind == "flatten":
            return torch.flatten(x[0], 1)
        if kind in ("relu", "tanh", "sigmoid"):
            return getattr(torch, kind)(x[0])
        if kind == "softmax":
            return torch.softmax(x[0], a.get("axis", -1))
        if kind == "add":
            return x[0] + x[1]
        if kind == "mul":
            return x[0] * x[1]
        if kind == "softmax_cross_entropy":
            return F.cross_entropy(x[0], x[1].long())
        raise ValueError("bench_torch.py: op %s is not supported" % kind)


def timed_both(fn, repeats):
    """Median wall and process CPU seconds of `repeats` calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def timed(fn, repeats):
    return timed_both(fn, repeats)[0]


def optimizer(params, o):
    if o["type"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.0))
    return torch.optim.Adam(params, lr=o["lr"])


def bench(spec, repeats):
    model = json.load(open(spec["path"]))
    net = Graph(model)
    shape = model["graph"]["inputs"][0]["shape"][1:]
    batch, steps = spec["batch"], spec["steps"]
    opt = optimizer(net.parameters(), spec["optim"])
    x = torch.rand(steps, batch, *shape)
    y = torch.randint(0, 10, (steps, batch))

    def train():
        for s in range(steps):
            opt.zero_grad()
            net.run({"image": x[s], "label": y[s]}, net.loss_node).backward()
            opt.step()

    def infer(b, n):
        xi = torch.rand(b, *shape)

        def run():
            with torch.no_grad():
                for _ in range(n):
                    net.run({"image": xi}, net.logits_node)
        return b * n / timed(run, repeats)

    train_wall, train_cpu = timed_both(train, repeats)
    return {
        "train_img_s": steps * batch / train_wall,
        "train_cpu_us": 1e6 * train_cpu / (steps * batch),
        "infer_b256_img_s": infer(256, max(2, steps * batch // 256)),
        "latency_b1_us": 1e6 / infer(1, max(8, steps * 4)),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--spec", required=True, help="JSON list of models as xgrad bench describes them")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {"threads": args.threads, "torch": torch.__version__}
    for spec in json.load(open(args.spec)):
        out[spec["name"]] = bench(spec, args.repeats)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
