# The PyTorch peer of the weight-export test: builds an nn.Module from an xgrad model file (one
# submodule per conv2d/matmul/batch_norm layer, named as xgrad's torch layout names them), loads a
# torch-layout .npz with load_state_dict(strict=True), runs it in eval mode on images from a .npy and
# saves the chosen output to a .npy.
#   python3 torch_peer.py MODEL.json WEIGHTS.npz IMAGES.npy OUT.npy [OUTPUT_ROLE]
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


def same_pad(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def padded(x, attrs, kernel, value=0.0):
    pad, s, d = attrs.get("padding", 0), pair(attrs.get("stride", kernel)), pair(attrs.get("dilation", 1))
    if pad == "valid":
        return x, (0, 0)
    if pad == "same":
        ph = same_pad(x.shape[2], kernel[0], s[0], d[0])
        pw = same_pad(x.shape[3], kernel[1], s[1], d[1])
        return F.pad(x, (pw[0], pw[1], ph[0], ph[1]), value=value), (0, 0)
    return x, pair(pad)


def set_module(root, path, module):
    *parents, leaf = path.split(".")
    for p in parents:
        if not hasattr(root, p):
            root.add_module(p, torch.nn.Module())
        root = getattr(root, p)
    root.add_module(leaf, module)


def get_module(root, path):
    for p in path.split("."):
        root = getattr(root, p)
    return root


class XgradNet(torch.nn.Module):
    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        shapes = {p["name"]: p["shape"] for p in graph["params"] + graph.get("states", [])}
        self.layer = {}
        for n in graph["nodes"]:
            ins, op = n["inputs"], n["op"]
            if op not in ("conv2d", "matmul", "batch_norm"):
                continue
            w = ins[1]
            layer = w.rsplit(".", 1)[0] if "." in w else n["name"]
            self.layer[n["name"]] = layer
            if op == "conv2d":
                o, i, kh, kw = shapes[w]
                g = n["attrs"].get("groups", 1)
                m = torch.nn.Conv2d(i * g, o, (kh, kw), bias=len(ins) > 2, groups=g)
            elif op == "matmul":
                k, o = shapes[w]
                m = torch.nn.Linear(k, o, bias=len(ins) > 2)
            else:
                m = torch.nn.BatchNorm2d(shapes[w][0], eps=n["attrs"].get("epsilon", 1e-5))
            set_module(self, layer, m)

    def forward(self, feeds, output):
        v = dict(feeds)
        for n in self.graph["nodes"]:
            op, a = n["op"], n.get("attrs", {})
            xs = [v.get(i) for i in n["inputs"]]
            x = xs[0]
            if op == "conv2d":
                m = get_module(self, self.layer[n["name"]])
                x, pad = padded(x, a, m.kernel_size)
                y = F.conv2d(x, m.weight, m.bias, pair(a.get("stride", 1)), pad, pair(a.get("dilation", 1)),
                             m.groups)
            elif op in ("matmul", "batch_norm"):
                y = get_module(self, self.layer[n["name"]])(x)
            elif op == "max_pool2d":
                k = pair(a["kernel"])
                x, pad = padded(x, a, k, float("-inf"))
                y = F.max_pool2d(x, k, pair(a.get("stride", k)), pad)
            elif op == "avg_pool2d":
                k = pair(a["kernel"])
                y = F.avg_pool2d(x, k, pair(a.get("stride", k)), pair(a.get("padding", 0)),
                                 count_include_pad=False)
            elif op in ("sigmoid", "relu", "tanh"):
                y = getattr(torch, op)(x)
            elif op == "flatten":
                y = x.flatten(1)
            elif op == "reshape":
                y = x.reshape(x.shape[0], *a["shape"])
            elif op == "softmax":
                y = torch.softmax(x, a.get("axis", -1))
            elif op == "add":
                y = xs[0] + xs[1]
            elif op == "mul":
                y = xs[0] * xs[1]
            else:
                continue  # losses and ops the output does not need
            v[n["name"]] = y
        return v[self.graph["outputs"][output]]


def main():
    torch.set_num_threads(1)
    model_path, npz_path, images_path, out_path = sys.argv[1:5]
    output = sys.argv[5] if len(sys.argv) > 5 else "logits"
    graph = json.load(open(model_path))["graph"]
    net = XgradNet(graph)
    state = {k: torch.from_numpy(v) for k, v in np.load(npz_path).items()}
    net.load_state_dict(state, strict=True)
    net.eval()
    images = torch.from_numpy(np.load(images_path))
    with torch.no_grad():
        y = net({graph["inputs"][0]["name"]: images}, output)
    np.save(out_path, y.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
