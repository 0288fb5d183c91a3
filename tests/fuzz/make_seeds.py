#!/usr/bin/env python3
"""Writes the fuzz seed corpora (tests/fuzz/corpus/NAME/): small valid files of every loader,
named valid-*, and bad ones taken from the loaders' reject tests, named bad-*. Run from anywhere
as `tests/fuzz/make_seeds.py [path/to/xgrad]` (the program exports the ONNX seeds, and the test
program next to it writes the Keras seeds from its fixtures); the output is committed. Seeds stay small (a few KB) so libFuzzer mutates them quickly."""
import base64
import copy
import gzip
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))


def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gz(data):
    return gzip.compress(data, mtime=0)


def f32_b64(values):
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode()


SMALL = {
    "format": "xgrad-model", "format_version": 1, "name": "small",
    "graph": {
        "inputs": [{"name": "image", "shape": [-1, 1, 6, 6]}, {"name": "label", "shape": [-1], "dtype": "int32"}],
        "params": [{"name": "conv.w", "shape": [2, 1, 3, 3], "init": "glorot_uniform"},
                   {"name": "conv.b", "shape": [2], "init": "zeros"},
                   {"name": "fc.w", "shape": [8, 3], "init": {"type": "uniform", "low": -0.1, "high": 0.1}}],
        "nodes": [{"name": "conv", "op": "conv2d", "inputs": ["image", "conv.w", "conv.b"], "attrs": {"stride": 1}},
                  {"name": "act", "op": "relu", "inputs": ["conv"]},
                  {"name": "pool", "op": "max_pool2d", "inputs": ["act"], "attrs": {"kernel": 2}},
                  {"name": "flat", "op": "flatten", "inputs": ["pool"]},
                  {"name": "fc", "op": "matmul", "inputs": ["flat", "fc.w"]},
                  {"name": "loss", "op": "softmax_cross_entropy", "inputs": ["fc", "label"]}],
        "outputs": {"logits": "fc", "loss": "loss"}},
    "weights": {"conv.b": {"shape": [2], "data": [0.5, -0.5]},
                "fc.w": {"shape": [8, 3], "data_b64": f32_b64([0.01 * i for i in range(24)])}},
    "meta": {"note": "fuzz seed"},
}


def mutated(edit):
    j = copy.deepcopy(SMALL)
    edit(j)
    return json.dumps(j)


def model_seeds():
    for name in ("lenet.json", "lenet-relu.json"):
        with open(os.path.join(REPO, "models", name), "rb") as f:
            write("model", "valid-" + name, f.read())
    write("model", "valid-small.json", json.dumps(SMALL))
    write("model", "valid-small-gzip.json", gz(json.dumps(SMALL).encode()))
    full = copy.deepcopy(SMALL)  # every param with weights: the source of the ONNX seed
    full["weights"]["conv.w"] = {"shape": [2, 1, 3, 3], "data_b64": f32_b64([0.1 * (i % 7) - 0.3 for i in range(18)])}
    write("model", "valid-small-all-weights.json", json.dumps(full))
    bad = {
        "unknown-op": lambda j: j["graph"]["nodes"][1].update(op="magic"),
        "cycle": lambda j: j["graph"]["nodes"][0]["inputs"].__setitem__(0, "fc"),
        "shape-mismatch": lambda j: j["graph"]["params"][2].update(shape=[9, 3]),
        "huge-shape": lambda j: j["graph"]["params"][2].update(shape=[65536, 65536]),
        "negative-dim": lambda j: j["graph"]["inputs"][0].update(shape=[-1, 1, -6, 6]),
        "weights-count": lambda j: j["weights"]["conv.b"].update(data=[1.0]),
        "bad-base64": lambda j: j["weights"]["fc.w"].update(data_b64="AA*A"),
        "big-attr": lambda j: j["graph"]["nodes"][2]["attrs"].update(kernel=18446744073709551615),
        "duplicate-name": lambda j: j["graph"]["nodes"][1].update(name="conv"),
        "newer-version": lambda j: j.update(format_version=99),
    }
    for name, edit in bad.items():
        write("model", "bad-" + name + ".json", mutated(edit))
    write("model", "bad-truncated.json", json.dumps(SMALL)[:300])
    write("model", "bad-deep.json", "[" * 100 + "]" * 100)
    write("model", "bad-duplicate-key.json", '{"format": "xgrad-model", "format": "x"}')
    write("model", "bad-invalid-utf8.json", b'{"format": "xgrad-model", "name": "\xff\xfe"}')
    write("model", "bad-gzip-truncated.json", gz(json.dumps(SMALL).encode())[:60])


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_seeds():
    images = idx(0x08, [2, 4, 4], bytes(range(32)))
    labels = idx(0x08, [3], bytes([1, 9, 0]))
    ints = idx(0x0C, [2, 2], struct.pack(">4i", 1, -2, 3, -4))
    floats = idx(0x0D, [3], struct.pack(">3f", 0.5, -1.0, 2.0))
    doubles = idx(0x0E, [1, 2], struct.pack(">2d", 0.25, -8.0))
    shorts = idx(0x0B, [2], struct.pack(">2h", -7, 300))
    for name, data in [("images", images), ("labels", labels), ("int", ints), ("float", floats),
                       ("double", doubles), ("short", shorts)]:
        write("idx", "valid-" + name, data)
        write("idx_gz", "valid-" + name + ".gz", gz(data))
    write("idx", "valid-images-gzip", gz(images))
    write("idx", "bad-short-payload", images[:-3])
    write("idx", "bad-long-payload", images + b"\0")
    write("idx", "bad-magic", b"\1\0" + images[2:])
    write("idx", "bad-type", bytes([0, 0, 0x07]) + images[3:])
    write("idx", "bad-zero-dim", idx(0x08, [2, 0, 4], b""))
    write("idx", "bad-huge-dims", idx(0x08, [65536, 65536, 65536], b""))
    write("idx", "bad-rank-zero", bytes([0, 0, 8, 0]))
    write("idx", "bad-gzip-truncated", gz(images)[:20])
    write("idx_gz", "bad-raw-named-gz", images)
    write("idx_gz", "bad-truncated.gz", gz(labels)[:15])


def feeds_seeds():
    image = [((i * 37) % 256) / 255.0 for i in range(784)]
    write("feeds", "valid-one-image.json",
          json.dumps({"image": {"shape": [1, 1, 28, 28], "data": image}, "label": {"shape": [1], "data": [3]}}))
    write("feeds", "valid-base64.json",
          json.dumps({"image": {"shape": [1, 1, 28, 28], "data_b64": f32_b64(image)},
                      "label": {"shape": [1], "data_b64": f32_b64([7.0])}}))
    write("feeds", "bad-shape.json",
          json.dumps({"image": {"shape": [1, 28, 28], "data": image}, "label": {"shape": [1], "data": [3]}}))
    write("feeds", "bad-missing-label.json", json.dumps({"image": {"shape": [1, 1, 28, 28], "data": image}}))
    write("feeds", "bad-unknown-input.json", json.dumps({"pixels": {"shape": [1], "data": [1]}}))


# The checkpoint target resumes into mlp({2}, "relu", 10): fc1.w [784, 2], fc1.b [2], fc2.w [2, 10],
# fc2.b [10].
MLP_PARAMS = {"fc1.w": [784, 2], "fc1.b": [2], "fc2.w": [2, 10], "fc2.b": [10]}


def tensor(shape, seed, key="data_b64"):
    n = 1
    for d in shape:
        n *= d
    values = [((i * 7919 + seed) % 1000) / 1000.0 - 0.5 for i in range(n)]
    return {"shape": shape, key: f32_b64(values)}


def checkpoint(optimizer, version=2, samples=16):
    key = "data_b64" if version == 2 else "f32le"
    config = {"type": optimizer, "lr": 0.01, "weight_decay": 0.0}
    if optimizer == "sgd":
        config.update(momentum=0.9, nesterov=False)
    else:
        config.update(beta1=0.9, beta2=0.999, eps=1e-8)
    slots = {}
    for i, (name, shape) in enumerate(MLP_PARAMS.items()):
        slots[name] = {"steps": 3, "m": tensor(shape, i + 10, key)}
        if optimizer != "sgd":
            slots[name]["v"] = tensor(shape, i + 20, key)
    order = struct.pack("<%dI" % samples, *[(i * 5) % samples for i in range(samples)])
    j = {"format": "xgrad-checkpoint", "model": "mlp",
         "training": {"epochs": 2, "batch": 4, "seed": 3, "optimizer": config, "schedule": {"type": "constant"}},
         "weights": {name: tensor(shape, i, key) for i, (name, shape) in enumerate(MLP_PARAMS.items())},
         "optimizer": {"config": config, "slots": slots},
         "progress": {"epoch": 0, "position": 12, "step": 3, "order_u32le": base64.b64encode(order).decode(),
                      "rng": ["1", "2", "3", "18446744073709551615"], "loss_sum": 6.5, "correct": 5,
                      "history": []}}
    if version == 2:
        j["format_version"] = 2
    else:
        j["version"] = 1
    return j


def onnx_seeds(xgrad):
    """ONNX needs the xgrad program (built with ONNX) to export the small model."""
    import subprocess
    d = os.path.join(ROOT, "corpus", "onnx")
    os.makedirs(d, exist_ok=True)
    onnx = os.path.join(d, "valid-small.onnx")
    subprocess.run([xgrad, "export", "--model", os.path.join(ROOT, "corpus", "model", "valid-small-all-weights.json"),
                    "--onnx", onnx], check=True)
    with open(onnx, "rb") as f:
        data = f.read()
    write("onnx", "bad-truncated.onnx", data[: len(data) // 2])
    write("onnx", "bad-not-onnx.onnx", json.dumps(SMALL))


def keras_seeds(xgrad):
    """Keras configs, .h5 and .keras files come from the C++ Keras fixtures (written through HDF5 and
    minizip as Keras writes them): the test that checks them writes them here when asked."""
    import subprocess
    tests = os.path.join(os.path.dirname(os.path.abspath(xgrad)), "xgrad_tests")
    env = dict(os.environ, XGRAD_WRITE_FUZZ_SEEDS=ROOT)
    subprocess.run([tests, "--test-case=fuzz seeds: the Keras*"], check=True, env=env)


def checkpoint_seeds():
    write("checkpoint", "valid-sgd-momentum.json", json.dumps(checkpoint("sgd")))
    write("checkpoint", "valid-adam.json", json.dumps(checkpoint("adam")))
    write("checkpoint", "valid-version1.json", json.dumps(checkpoint("sgd", version=1)))
    write("checkpoint", "valid-gzip.json", gz(json.dumps(checkpoint("adamw")).encode()))
    j = checkpoint("adam")
    j["optimizer"]["slots"]["fc1.b"].pop("v")
    write("checkpoint", "bad-missing-moment.json", json.dumps(j))
    j = checkpoint("sgd")
    j["weights"]["fc2.b"]["shape"] = [11]
    write("checkpoint", "bad-weight-shape.json", json.dumps(j))
    j = checkpoint("sgd")
    j["progress"]["position"] = 99
    write("checkpoint", "bad-position.json", json.dumps(j))
    j = checkpoint("sgd")
    j["model"] = "lenet"
    write("checkpoint", "bad-other-model.json", json.dumps(j))
    write("checkpoint", "bad-truncated.json", json.dumps(checkpoint("sgd"))[:2000])


def npy(header, payload):
    h = header.encode()
    h += b" " * (64 - (10 + len(h) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + payload


def npy_seeds():
    """NumPy's own fixtures (tests/data/npy, written by NumPy) and broken variants."""
    fixtures = os.path.join(REPO, "tests", "data", "npy")
    unsupported = {"structured.npy", "unicode.npy", "fortran.npy"}
    for name in sorted(os.listdir(fixtures)):
        kind = "npz" if name.endswith(".npz") else "npy" if name.endswith(".npy") else None
        if kind:
            prefix = "bad-" if name in unsupported else "valid-"
            with open(os.path.join(fixtures, name), "rb") as f:
                write(kind, prefix + name, f.read())
    ok = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", struct.pack("<6f", *range(6)))
    write("npy", "bad-short-data.npy", ok[:-5])
    write("npy", "bad-huge-shape.npy",
          npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", b""))
    write("npy", "bad-magic.npy", b"\x93NUMPX" + ok[6:])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(zipfile.ZipInfo("x.npy", date_time=(1980, 1, 1, 0, 0, 0)), ok[:-5])
    write("npz", "bad-short-entry.npz", archive.getvalue())
    with open(os.path.join(fixtures, "stored.npz"), "rb") as f:
        write("npz", "bad-truncated.npz", f.read()[:200])
    write("npz", "bad-not-zip.npz", ok)


if __name__ == "__main__":
    model_seeds()
    idx_seeds()
    feeds_seeds()
    checkpoint_seeds()
    npy_seeds()
    if len(sys.argv) > 1:  # tests/fuzz/make_seeds.py build/xgrad
        onnx_seeds(sys.argv[1])
        keras_seeds(sys.argv[1])
