#!/usr/bin/python3
"""reference_cnn.py -- seed 002's Fashion-MNIST CNN recipe in plain PyTorch.

The benchmark's yardstick for models/cnn_fashion.nn: the same model, loss,
optimizer and schedule as the Keras notebook of
shared/reference/seeds/002 ("A Convolutional Neural Network"), written the
way a PyTorch user would, so that nnc's speed and accuracy can be compared
with something independent of nnc's runtime.

What it computes (the Keras semantics of shared/reference/keras-semantics.md):
  data      IDX .gz files read with gzip + numpy (no torchvision, no network);
            all 60000 training images, no validation split; the 10000 test
            images for the final evaluation. Pixels scaled by 1/255.
  model     NCHW (torch's native layout; Keras works in NHWC, which only
            permutes the rows of the first dense kernel, and those are
            randomly initialized anyway):
            Conv2D 1->32 2x2 valid relu (27x27), MaxPool 2 (13x13),
            Conv2D 32->32 2x2 valid relu (12x12), MaxPool 2 (6x6), Flatten
            (1152), Dense 1152->256 relu, Dense 256->10 (logits; the softmax
            is folded into the loss). Glorot-uniform kernels as Keras draws
            them (conv: fan_in = kh*kw*cin, fan_out = kh*kw*cout), zero biases.
  loss      sparse categorical cross-entropy, mean over the batch (the last
            batch of each epoch has 60000 - 937*64 = 32 examples).
  optimizer Adam in Keras's form, by hand (as bench/reference_day5.py):
            m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
            alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
            p -= alpha m / (sqrt(v) + eps), eps = 1e-7, lr = 1e-3.
  fit       batch 64, reshuffled every epoch, 10 epochs, no validation.
  evaluate  test loss and accuracy of the final weights.

Per-epoch seconds cover shuffling and training (there is no validation), as
nnc's do. The last line printed is one JSON object for bench/run to parse.

Run it with the system interpreter (Debian's python3-torch):
  /usr/bin/python3 bench/reference_cnn.py [--epochs 10] [--seed 42]
      [--threads 2] [--limit-train N] [--data DIR] [--out DIR] [--quiet]
"""
import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

N_CLASSES = 10
BATCH = 64
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7


def read_idx(path):
    """An IDX file (gzip-compressed) as a numpy array of its stored shape."""
    with gzip.open(path, "rb") as f:
        raw = bytearray(f.read())  # writable, so torch.from_numpy can share it
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        sys.exit(f"{path}: {data.size} values, header says {dims}")
    return data.reshape(dims)


def load_split(data_dir, prefix):
    """(x, y): x float32 (n, 1, 28, 28) scaled to [0, 1], y int64 (n)."""
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    # NHWC (n, 28, 28, 1) -> NCHW (n, 1, 28, 28): with one channel, a reshape
    xt = torch.from_numpy(x.reshape(len(x), 1, 28, 28)).float().mul_(1.0 / 255.0)
    return xt, torch.from_numpy(y.astype(np.int64))


def glorot_uniform(shape, fan_in, fan_out, generator):
    """Keras glorot_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    w = torch.rand(*shape, generator=generator) * (2 * limit) - limit
    return w.requires_grad_()


def init_params(generator):
    """Conv kernels (cout, cin, kh, kw) as torch wants them, dense kernels
    (in, out) as Keras stores them; biases zero."""
    params = []
    for cin, cout in ((1, 32), (32, 32)):
        params.append(glorot_uniform((cout, cin, 2, 2), 2 * 2 * cin, 2 * 2 * cout, generator))
        params.append(torch.zeros(cout, requires_grad=True))
    for fan_in, fan_out in ((32 * 6 * 6, 256), (256, N_CLASSES)):
        params.append(glorot_uniform((fan_in, fan_out), fan_in, fan_out, generator))
        params.append(torch.zeros(fan_out, requires_grad=True))
    return params


def forward(params, x):
    """Logits (n, 10) of images x (n, 1, 28, 28)."""
    c1, cb1, c2, cb2, w1, b1, w2, b2 = params
    h = F.max_pool2d(torch.relu(F.conv2d(x, c1, cb1)), 2)  # 27x27 -> 13x13
    h = F.max_pool2d(torch.relu(F.conv2d(h, c2, cb2)), 2)  # 12x12 -> 6x6
    h = torch.relu(torch.addmm(b1, h.flatten(1), w1))
    return torch.addmm(b2, h, w2)


class KerasAdam:
    """Adam with Keras's epsilon placement, on torch's multi-tensor kernels."""

    def __init__(self, params):
        self.params = params
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        grads = [p.grad for p in self.params]
        torch._foreach_mul_(self.m, BETA_1)
        torch._foreach_add_(self.m, grads, alpha=1 - BETA_1)
        torch._foreach_mul_(self.v, BETA_2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - BETA_2)
        alpha = LEARNING_RATE * (1 - BETA_2 ** self.t) ** 0.5 / (1 - BETA_1 ** self.t)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_add_(denom, EPSILON)  # after the bias correction: Keras
        torch._foreach_addcdiv_(self.params, self.m, denom, value=-alpha)


@torch.no_grad()
def evaluate(params, x, y):
    logits = torch.cat([forward(params, x[i:i + 1000]) for i in range(0, len(x), 1000)])
    loss = F.cross_entropy(logits, y, reduction="sum").item() / len(y)
    return loss, (logits.argmax(dim=1) == y).double().mean().item()


def fit(params, x_train, y_train, args, log):
    n = len(y_train)
    optimizer = KerasAdam(params)
    shuffle = torch.Generator().manual_seed(args.seed + 1)
    steps = (n + BATCH - 1) // BATCH
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        loss_sum = correct = 0.0
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            xb, yb = x_train[idx], y_train[idx]
            logits = forward(params, xb)
            loss = F.cross_entropy(logits, yb)  # mean over the batch
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(dim=1) == yb).sum().item()
        seconds = time.perf_counter() - t0
        history.append((epoch, loss_sum / n, correct / n, LEARNING_RATE, seconds))
        log(f"Epoch {epoch}/{args.epochs} - {steps} steps - {seconds:.2f}s - "
            f"loss: {loss_sum / n:.4f} - accuracy: {correct / n:.4f} - lr: {LEARNING_RATE:g}")
    return history


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42,
                    help="initialization and shuffling (default 42)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=0,
                    help="train on the first N examples only (0: all 60000)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=None, help="write history.csv here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def log(line):
        if not args.quiet:
            print(line, flush=True)

    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    if args.limit_train:
        x_train, y_train = x_train[:args.limit_train], y_train[:args.limit_train]
    log(f"train: {len(y_train)} examples; test: {len(y_test)} examples; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    params = init_params(torch.Generator().manual_seed(args.seed))
    history = fit(params, x_train, y_train, args, log)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "history.csv"), "w") as f:
            f.write("epoch,loss,accuracy,lr,seconds\n")
            for row in history:
                f.write("%d,%.6f,%.6f,%.6f,%.6f\n" % row)

    test_loss, test_acc = evaluate(params, x_test, y_test)
    log(f"test: {len(y_test)} examples - loss: {test_loss:.4f} - accuracy: {test_acc:.4f}")

    seconds = [row[4] for row in history]
    print(json.dumps({
        "impl": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "seed": args.seed,
        "n_train": int(len(y_train)),
        "epochs_run": len(history),
        "mean_epoch_seconds": sum(seconds) / len(seconds),
        "min_epoch_seconds": min(seconds),
        "epoch_seconds": seconds,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
