#!/usr/bin/env python3
"""PyTorch peer of `xgrad bench`: reads the same xgrad model files (models/FORMAT.md), builds them
as PyTorch modules, and measures training (torch.optim, the same optimizer settings), inference at
batch 256 and latency at batch 1 on synthetic data. Prints one JSON object: {model name: figures}.

Run as `xgrad bench` does: OPENBLAS_NUM_THREADS=1 python3 tools/bench_torch.py --threads 2 --spec S.json
where S.json lists {"name", "path", "batch", "steps", "optim", "data_input", "label_input", "classes"}
per model. A model it cannot run (an op it does not know) gets {"error": why} instead of figures.
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
            if p["init"] in ("zeros", "ones"):
                nn.init.constant_(t, 1.0 if p["init"] == "ones" else 0.0)
            elif len(p["shape"]) == 2:  # dense [in, out]: torch's fans are (out, in)
                nn.init.xavier_uniform_(t.T)
            else:
                nn.init.xavier_uniform_(t)
            key = "p%d" % i
            self.params[key] = nn.Parameter(t)
            self.names[p["name"]] = key
        self.states = {}  # batch norm running statistics: buffers, not parameters
        for s in g.get("states", []):
            init = torch.ones if s["init"] == "ones" else torch.zeros
            self.states[s["name"]] = init(s["shape"])
        self.loss_node = g["outputs"]["loss"]
        self.logits_node = g["outputs"].get("logits", self.loss_node)

    def run(self, feeds, want):
        v = dict(feeds)
        for n in self.nodes:
            ins = [self.params[self.names[i]] if i in self.names else self.states.get(i, v.get(i))
                   for i in n["inputs"]]
            v[n["name"]] = self.op(n["op"], n.get("attrs", {}), ins, self.training)
            if n["name"] == want:
                return v[want]
        return v[want]

    @staticmethod
    def op(kind, a, x, training):
        y = Graph.plain_op(kind, a, x, training)
        act = a.get("activation", "none")  # a fused activation (conv2d, batch_norm, add): f(op(...))
        return y if act == "none" else Graph.plain_op(act, {}, [y], training)

    @staticmethod
    def plain_op(kind, a, x, training):
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
        if kind in ("leaky_relu", "elu"):
            return getattr(F, kind)(x[0], a.get("alpha", 0.01 if kind == "leaky_relu" else 1.0))
        if kind == "gelu":
            return F.gelu(x[0], approximate=a.get("approximate", "none"))
        if kind in ("silu", "softplus"):
            return getattr(F, kind)(x[0])
        if kind == "batch_norm":
            return F.batch_norm(x[0], x[3], x[4], x[1], x[2], training, a.get("momentum", 0.1),
                                a.get("epsilon", 1e-5))
        if kind == "dropout":
            return F.dropout(x[0], a["rate"], training)
        if kind == "global_avg_pool2d":
            return x[0].mean((2, 3))
        if kind == "global_max_pool2d":
            return x[0].amax((2, 3))
        if kind == "concat":
            return torch.cat(x, a.get("axis", 1))
        if kind == "reshape":
            return x[0].reshape(x[0].shape[0], *a["shape"])
        if kind == "softmax":
            return torch.softmax(x[0], a.get("axis", -1))
        if kind == "log_softmax":
            return torch.log_softmax(x[0], a.get("axis", -1))
        if kind in ("add", "sub", "mul", "div"):
            return getattr(torch, kind)(x[0], x[1])
        if kind == "softmax_cross_entropy":
            return F.cross_entropy(x[0], x[1].long())
        if kind == "sigmoid_cross_entropy":
            return F.binary_cross_entropy_with_logits(x[0], x[1].float())
        if kind == "mse":
            return F.mse_loss(x[0], x[1])
        raise ValueError("op %s is not supported by bench_torch.py" % kind)


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


def labels(spec, shape, *lead):
    """Class ids below spec["classes"], or floats in [0, 1) of the label input's shape."""
    if spec["classes"]:
        return torch.randint(0, spec["classes"], lead)
    return torch.rand(*lead, *shape)


def bench(spec, repeats):
    model = json.load(open(spec["path"]))
    net = Graph(model)
    shapes = {i["name"]: i["shape"][1:] for i in model["graph"]["inputs"]}
    data, label = spec["data_input"], spec["label_input"]
    batch, steps = spec["batch"], spec["steps"]
    opt = optimizer(net.parameters(), spec["optim"])
    x = torch.rand(steps, batch, *shapes[data])
    y = labels(spec, shapes[label], steps, batch)

    def train():
        net.train()
        for s in range(steps):
            opt.zero_grad()
            net.run({data: x[s], label: y[s]}, net.loss_node).backward()
            opt.step()

    def infer(b, n):
        feeds = {data: torch.rand(b, *shapes[data]), label: labels(spec, shapes[label], b)}

        def run():
            net.eval()
            with torch.no_grad():
                for _ in range(n):
                    net.run(feeds, net.logits_node)
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
        try:
            out[spec["name"]] = bench(spec, args.repeats)
        except (ValueError, KeyError, RuntimeError) as e:  # a model this interpreter cannot run
            out[spec["name"]] = {"error": str(e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
