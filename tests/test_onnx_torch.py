# The PyTorch peer of the ONNX import test: exports a few small nets with torch.onnx.export (eval
# mode, seeded weights) and saves, for each NAME, NAME.onnx, NAME.x.npy (a batch of inputs) and
# NAME.y.npy (PyTorch's outputs for it).
#   python3 test_onnx_torch.py OUT_DIR
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):  # x.view(x.size(0), -1): the Shape/Gather/Unsqueeze/Concat chain
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(torch.sigmoid(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(torch.tanh(self.fc1(x)))


class Blocks(nn.Module):  # batch norm (after an activation: torch folds it into a conv), groups,
    # stride, dropout, concat, gelu, global pool
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.side = nn.Conv2d(8, 4, 1, stride=2)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(12, 5)

    def forward(self, x):
        x = self.bn(F.leaky_relu(self.stem(x), 0.1))
        x = torch.cat([F.elu(self.grouped(x)), self.side(x)], dim=1)
        x = F.adaptive_avg_pool2d(F.gelu(self.drop(x)), 1)
        return self.head(torch.flatten(x, 1))


class Mlp(nn.Module):  # fixed batch, softplus, silu, log_softmax
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return F.log_softmax(self.fc2(F.silu(F.softplus(self.fc1(x)))), dim=1)


def export(out_dir, name, net, x, opset, dynamic):
    torch.manual_seed(0)
    for p in net.parameters():  # non-trivial batch-norm statistics too
        nn.init.uniform_(p, -0.5, 0.5)
    for b in net.buffers():
        if b.dtype == torch.float32:
            b.uniform_(0.5, 1.5)
    net.eval()
    with torch.no_grad():
        y = net(x)
    path = os.path.join(out_dir, name)
    axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic else None
    torch.onnx.export(net, x, path + ".onnx", input_names=["x"], output_names=["y"], opset_version=opset,
                      dynamic_axes=axes)
    np.save(path + ".x.npy", x.numpy())
    np.save(path + ".y.npy", y.numpy())


def main():
    out_dir = sys.argv[1]
    torch.manual_seed(1)
    export(out_dir, "lenet", LeNet(), torch.rand(3, 1, 28, 28), 11, True)
    export(out_dir, "blocks", Blocks(), torch.rand(2, 3, 8, 8), 13, True)
    export(out_dir, "mlp", Mlp(), torch.rand(4, 3, 2, 2), 17, False)


if __name__ == "__main__":
    main()
