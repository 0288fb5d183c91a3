#!/usr/bin/env python3
"""Writes tests/data/torch_ops.json: PyTorch's forward values and gradients for xgrad's ops, which
tests/test_torch_fixtures.cpp compares against xgrad's. Inputs are float32; PyTorch computes in
float64 from them, so the fixture holds the exact answer for those inputs.

Run from the checkout after changing a case (needs python3-torch; xgrad itself never does):
    /usr/bin/python3 tests/make_torch_fixtures.py
Each case: op name and attrs exactly as xgrad spells them, the inputs, grad_out (the upstream
gradient R), out, and grads[i] = d(sum(out * R)) / d input i (null for int32 inputs)."""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.RandomState(20261129)


def draw(shape, kind):
    n = int(np.prod(shape))
    if kind == "uniform":
        v = rng.uniform(-3, 3, n)
    elif kind == "positive":
        v = rng.uniform(0.5, 3, n)
    elif kind == "prob":
        v = rng.uniform(0.05, 0.95, n)
    elif kind == "distinct":  # no ties for max
        v = (rng.permutation(n) - n / 2) * 0.25
    elif kind == "binary":
        v = rng.randint(0, 2, n)
    elif kind == "tails":  # far tails and the region around 0, where naive formulas fail
        v = np.resize([-1e4, -100, -30, -1, -1e-3, 0, 1e-3, 1, 30, 100, 1e4], n)
    else:
        raise ValueError(kind)
    return v.astype(np.float32).reshape(shape)


# (label, op, attrs, [(shape, kind), ...], torch function of the float64 tensors)
CASES = [
    ("leaky_relu default", "leaky_relu", {}, [((3, 4), "uniform")], lambda x: F.leaky_relu(x, 0.01)),
    ("leaky_relu alpha 0.2", "leaky_relu", {"alpha": 0.2}, [((3, 4), "uniform")], lambda x: F.leaky_relu(x, 0.2)),
    ("elu default", "elu", {}, [((3, 4), "uniform")], lambda x: F.elu(x, 1.0)),
    ("elu alpha 0.5", "elu", {"alpha": 0.5}, [((3, 4), "uniform")], lambda x: F.elu(x, 0.5)),
    ("elu tails", "elu", {}, [((11,), "tails")], lambda x: F.elu(x)),
    ("gelu erf", "gelu", {"approximate": "none"}, [((3, 5), "uniform")], lambda x: F.gelu(x)),
    ("gelu tanh", "gelu", {"approximate": "tanh"}, [((3, 5), "uniform")],
     lambda x: F.gelu(x, approximate="tanh")),
    ("gelu tails", "gelu", {"approximate": "none"}, [((11,), "tails")], lambda x: F.gelu(x)),
    ("silu", "silu", {}, [((3, 5), "uniform")], F.silu),
    ("silu tails", "silu", {}, [((11,), "tails")], F.silu),
    ("softplus", "softplus", {}, [((3, 5), "uniform")], F.softplus),
    ("softplus tails", "softplus", {}, [((11,), "tails")], F.softplus),
    ("log_softmax last axis", "log_softmax", {"axis": -1}, [((3, 5), "uniform")], lambda x: F.log_softmax(x, -1)),
    ("log_softmax axis 1", "log_softmax", {"axis": 1}, [((2, 3, 4), "uniform")], lambda x: F.log_softmax(x, 1)),
    ("log_softmax tails", "log_softmax", {"axis": -1}, [((1, 11), "tails")], lambda x: F.log_softmax(x, -1)),
    ("softmax axis 1", "softmax", {"axis": 1}, [((2, 3, 4), "uniform")], lambda x: F.softmax(x, 1)),
    ("global_avg_pool2d", "global_avg_pool2d", {}, [((2, 3, 3, 4), "uniform")], lambda x: x.mean(dim=(2, 3))),
    ("global_max_pool2d", "global_max_pool2d", {}, [((2, 3, 3, 4), "distinct")],
     lambda x: F.adaptive_max_pool2d(x, 1).flatten(1)),
    ("concat axis 1", "concat", {"axis": 1}, [((2, 3, 2), "uniform"), ((2, 1, 2), "uniform"), ((2, 2, 2), "uniform")],
     lambda *xs: torch.cat(xs, 1)),
    ("concat axis -1", "concat", {"axis": -1}, [((2, 2), "uniform"), ((2, 3), "uniform")],
     lambda *xs: torch.cat(xs, -1)),
    ("concat axis 0", "concat", {"axis": 0}, [((1, 2, 2), "uniform"), ((2, 2, 2), "uniform")],
     lambda *xs: torch.cat(xs, 0)),
    ("mse", "mse", {}, [((3, 4), "uniform"), ((3, 4), "uniform")], F.mse_loss),
    ("sigmoid_cross_entropy", "sigmoid_cross_entropy", {}, [((3, 4), "uniform"), ((3, 4), "prob")],
     F.binary_cross_entropy_with_logits),
    ("sigmoid_cross_entropy tails", "sigmoid_cross_entropy", {}, [((11,), "tails"), ((11,), "binary")],
     F.binary_cross_entropy_with_logits),
    ("sub broadcast", "sub", {}, [((2, 3), "uniform"), ((3,), "uniform")], torch.sub),
    ("div broadcast", "div", {}, [((2, 3), "uniform"), ((2, 1), "positive")], torch.div),
    ("neg", "neg", {}, [((2, 3), "uniform")], torch.neg),
    ("square", "square", {}, [((2, 3), "uniform")], torch.square),
    ("exp", "exp", {}, [((2, 3), "uniform")], torch.exp),
    ("log", "log", {}, [((2, 3), "positive")], torch.log),
    ("sqrt", "sqrt", {}, [((2, 3), "positive")], torch.sqrt),
    ("abs", "abs", {}, [((2, 3), "uniform")], torch.abs),
    ("clip", "clip", {"min": -1.5, "max": 0.75}, [((3, 4), "uniform")], lambda x: torch.clamp(x, -1.5, 0.75)),
    ("scale", "scale", {"factor": -2.5}, [((2, 3), "uniform")], lambda x: x * -2.5),
    ("add_scalar", "add_scalar", {"value": 0.75}, [((2, 3), "uniform")], lambda x: x + 0.75),
]


def tensor_json(t):
    a = np.asarray(t, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def make_case(label, op, attrs, specs, fn):
    arrays = [draw(shape, kind) for shape, kind in specs]
    int_inputs = [kind == "binary" for _, kind in specs]
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=not is_int) for a, is_int in zip(arrays, int_inputs)]
    out = fn(*xs)
    grad_out = torch.tensor(draw(tuple(out.shape), "uniform"), dtype=torch.float64)
    wanted = [x for x in xs if x.requires_grad]
    grads = iter(torch.autograd.grad((out * grad_out).sum(), wanted))
    return {
        "label": label,
        "op": op,
        "attrs": attrs,
        "inputs": [tensor_json(a) for a in arrays],
        "dtypes": ["int32" if is_int else "float32" for is_int in int_inputs],
        "grad_out": tensor_json(grad_out.float()),  # float32, exactly what xgrad is fed
        "out": tensor_json(out.detach()),
        "grads": [None if is_int else tensor_json(next(grads)) for is_int in int_inputs],
    }


def main():
    torch.set_default_dtype(torch.float64)
    cases = [make_case(*c) for c in CASES]
    head = {"generator": "tests/make_torch_fixtures.py", "torch": torch.__version__}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "torch_ops.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:  # one case a line, so a change reads as a small diff
        f.write(json.dumps(head)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    os.replace(path + ".tmp", path)
    print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
