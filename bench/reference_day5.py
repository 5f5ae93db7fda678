#!/usr/bin/python3
"""reference_day5.py -- the Day 5 Fashion-MNIST recipe in plain PyTorch.

The benchmark's yardstick for models/day5.nn: the same data surgery, model,
loss, optimizer and callbacks as the Keras tutorial
(shared/reference/seeds/000, "The complete script"), written the way a
PyTorch user would, so that nnc's speed and accuracy can be compared with
something independent of nnc's runtime.

What it computes, step by step (the Keras semantics of
shared/reference/keras-semantics.md):
  data      IDX .gz files read with gzip + numpy (no torchvision, no network);
            validation = the last 5000 training images; in the remaining
            training split keep 300 each of classes 5, 7, 9, chosen exactly as
            the Keras script does with numpy default_rng(keep_seed) (42, the
            seed of both the tutorial and the `keep ... seed 42` of day5.nn).
            nnc's runtime draws its own subset from that seed; --keep-rng nnc
            picks those very examples instead (a port of rt_rng.c).
  model     Normalization(axis=None) adapted on the kept training split
            (scalar mean, population variance, std floored at 1e-7), Flatten,
            Dense 784->256 relu, Dropout 0.3, Dense 256->128 relu,
            Dropout 0.3, Dense 128->10 logits. Glorot-uniform kernels, zero
            biases.
  loss      sparse cross-entropy from logits, balanced class weights
            w_c = N / (C n_c) applied per example, reduced as
            sum(w * l) / batch_size (Keras's sum_over_batch_size, not torch's
            weighted mean). Validation and test losses are unweighted.
  optimizer Adam in Keras's form, by hand: m += (g - m)(1 - b1);
            v += (g^2 - v)(1 - b2); alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
            p -= alpha m / (sqrt(v) + eps), eps = 1e-7 added after the
            bias-corrected step (torch.optim.Adam adds it before).
  fit       batch 128, reshuffled every epoch; ModelCheckpoint(val_accuracy,
            save_best_only) kept in memory; EarlyStopping(val_loss,
            patience 5, restore_best_weights).
  evaluate  the best-val_accuracy weights on the test set: accuracy and the
            recall of Sandal, Sneaker and Ankle boot.

Per-epoch seconds cover shuffling, training and validation (as nnc's do).
The last line printed is one JSON object for bench/run to parse.

Run it with the system interpreter (Debian's python3-torch):
  /usr/bin/python3 bench/reference_day5.py [--epochs 40] [--seed 42]
      [--threads 2] [--keep-seed 42] [--keep-rng numpy|nnc] [--data DIR]
      [--out DIR] [--quiet]
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

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FOOTWEAR = (5, 7, 9)  # Sandal, Sneaker, Ankle boot
N_CLASSES = 10
BATCH = 128
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7
DROPOUT = 0.3
PATIENCE = 5


# ---- data -----------------------------------------------------------------

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


class NncRng:
    """nnc's runtime generator (runtime/rt_rng.c): xoshiro128+ seeded by
    splitmix64, rt_rng_below by Lemire's multiply-shift with rejection."""

    M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF

    def __init__(self, seed):
        sm = seed & self.M64
        words = []
        for _ in range(2):
            sm = (sm + 0x9E3779B97F4A7C15) & self.M64
            z = sm
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.M64
            z ^= z >> 31
            words += [z & self.M32, z >> 32]
        self.s = words if any(words) else [1, 0, 0, 0]

    def u32(self):
        s = self.s
        result = (s[0] + s[3]) & self.M32
        t = (s[1] << 9) & self.M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 11) | (s[3] >> 21)) & self.M32
        return result

    def below(self, n):
        product = self.u32() * n
        if (product & self.M32) < n:
            threshold = (-n % (1 << 32)) % n
            while (product & self.M32) < threshold:
                product = self.u32() * n
        return product >> 32


def nnc_keep_mask(y, seed):
    """The examples `keep train {...} seed S` keeps in nnc (rt_dataset_keep):
    per class, a partial Fisher-Yates over its indices picks the 300 kept."""
    rng = NncRng(seed)
    keep = np.ones(len(y), dtype=bool)
    for cls in FOOTWEAR:
        idx = list(np.where(y == cls)[0])
        n = len(idx)
        for i in range(min(300, n)):
            j = i + rng.below(n - i)
            idx[i], idx[j] = idx[j], idx[i]
        keep[idx[300:]] = False
    return keep


def load_data(data_dir, keep_seed, keep_rng="numpy"):
    """Train (imbalanced), validation and test splits, as in the Keras script.

    keep_rng "numpy" chooses the kept footwear examples as the Keras script
    does; "nnc" chooses the very examples nnc's runtime keeps, so that a
    comparison with nnc isolates training from the choice of data."""
    def split(prefix):
        x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
        return x, y

    x_full, y_full = split("train")
    x_test, y_test = split("t10k")
    x_val, y_val = x_full[-5000:], y_full[-5000:]
    x_train, y_train = x_full[:-5000], y_full[:-5000]
    if keep_rng == "nnc":
        keep = nnc_keep_mask(y_train, keep_seed)
    else:
        rng = np.random.default_rng(keep_seed)
        keep = np.ones(len(y_train), dtype=bool)
        for cls in FOOTWEAR:  # starve footwear
            idx = np.where(y_train == cls)[0]
            keep[rng.choice(idx, size=len(idx) - 300, replace=False)] = False
    return (x_train[keep], y_train[keep]), (x_val, y_val), (x_test, y_test)


def adapt_normalization(x_train):
    """Normalization(axis=None).adapt: one mean, one population variance."""
    # exact, from the histogram of the 256 byte values (no float copy of the data)
    hist = np.bincount(x_train.reshape(-1), minlength=256).astype(np.float64)
    values = np.arange(256, dtype=np.float64)
    n = hist.sum()
    mean = (hist * values).sum() / n
    variance = (hist * (values - mean) ** 2).sum() / n  # population: divide by N
    return np.float32(mean), np.float32(variance)


def normalize(x, mean, variance):
    """(x - mean) / max(sqrt(variance), 1e-7), flattened to (n, 784) float32.

    Done once per split: the statistics are frozen after adapt(), so this is
    what the layer computes on every batch.
    """
    std = max(float(np.sqrt(variance)), 1e-7)
    flat = torch.from_numpy(x.reshape(len(x), -1)).float()
    return flat.sub_(float(mean)).div_(std)


# ---- model ----------------------------------------------------------------

def glorot_uniform(fan_in, fan_out, generator):
    """Keras glorot_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    w = torch.rand(fan_in, fan_out, generator=generator) * (2 * limit) - limit
    return w.requires_grad_()


def init_params(generator):
    """Kernels stored (in, out) as Keras does; biases zero."""
    sizes = [(784, 256), (256, 128), (128, 10)]
    params = []
    for fan_in, fan_out in sizes:
        params.append(glorot_uniform(fan_in, fan_out, generator))
        params.append(torch.zeros(fan_out, requires_grad=True))
    return params


def forward(params, x, training):
    """Logits (n, 10) of normalized, flattened inputs x (n, 784)."""
    w1, b1, w2, b2, w3, b3 = params
    h = F.dropout(torch.relu(torch.addmm(b1, x, w1)), DROPOUT, training)
    h = F.dropout(torch.relu(torch.addmm(b2, h, w2)), DROPOUT, training)
    return torch.addmm(b3, h, w3)


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
        # m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        torch._foreach_mul_(self.m, BETA_1)
        torch._foreach_add_(self.m, grads, alpha=1 - BETA_1)
        torch._foreach_mul_(self.v, BETA_2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - BETA_2)
        alpha = LEARNING_RATE * (1 - BETA_2 ** self.t) ** 0.5 / (1 - BETA_1 ** self.t)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_add_(denom, EPSILON)  # after the bias correction: Keras
        torch._foreach_addcdiv_(self.params, self.m, denom, value=-alpha)


# ---- fit and evaluate -----------------------------------------------------

@torch.no_grad()
def evaluate(params, x, y):
    """Unweighted mean loss, accuracy and predictions, dropout off."""
    logits = torch.cat([forward(params, x[i:i + 1024], False)
                        for i in range(0, len(x), 1024)])
    loss = F.cross_entropy(logits, y, reduction="sum").item() / len(y)
    pred = logits.argmax(dim=1)
    return loss, (pred == y).double().mean().item(), pred


def snapshot(params):
    return [p.detach().clone() for p in params]


def fit(params, train, val, class_weight, args, log):
    x_train, y_train = train
    x_val, y_val = val
    n = len(y_train)
    sample_weight = class_weight[y_train]  # (n) the class weight of each example
    optimizer = KerasAdam(params)
    shuffle = torch.Generator().manual_seed(args.seed + 1)
    steps = (n + BATCH - 1) // BATCH
    history = []
    best_acc, best_acc_weights, best_acc_epoch = -np.inf, None, 0
    best_loss, best_loss_weights, best_loss_epoch, wait = np.inf, None, 0, 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        loss_sum = correct = weight_sum = 0.0
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            xb, yb, wb = x_train[idx], y_train[idx], sample_weight[idx]
            logits = forward(params, xb, True)
            per_example = F.cross_entropy(logits, yb, reduction="none")
            weighted = (wb * per_example).sum()
            loss = weighted / len(idx)  # sum_over_batch_size
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.step()
            loss_sum += weighted.item()
            # Keras weights training metrics by the sample (class) weights
            correct += (wb * (logits.argmax(dim=1) == yb)).sum().item()
            weight_sum += wb.sum().item()
        val_loss, val_acc, _ = evaluate(params, x_val, y_val)
        seconds = time.perf_counter() - t0
        history.append((epoch, loss_sum / n, correct / weight_sum, val_loss, val_acc,
                        LEARNING_RATE, seconds))
        log(f"Epoch {epoch}/{args.epochs} - {steps} steps - {seconds:.2f}s - "
            f"loss: {loss_sum / n:.4f} - accuracy: {correct / weight_sum:.4f} - "
            f"val_loss: {val_loss:.4f} - val_accuracy: {val_acc:.4f}")
        if val_acc > best_acc:  # ModelCheckpoint(val_accuracy, save_best_only)
            best_acc, best_acc_weights, best_acc_epoch = val_acc, snapshot(params), epoch
        if val_loss < best_loss:  # EarlyStopping(val_loss, patience 5)
            best_loss, best_loss_epoch, wait = val_loss, epoch, 0
            best_loss_weights = snapshot(params)
        else:
            wait += 1
            if wait >= PATIENCE:
                log(f"Epoch {epoch}: early stopping (val_loss has not improved "
                    f"for {PATIENCE} epochs)")
                break
    if best_loss_weights is not None:  # restore_best_weights
        with torch.no_grad():
            for p, b in zip(params, best_loss_weights):
                p.copy_(b)
        log(f"Restoring model weights from the end of the best epoch: {best_loss_epoch}.")
    return history, best_acc_weights, best_acc_epoch


def write_history(path, history):
    with open(path, "w") as f:
        f.write("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n")
        for row in history:
            f.write("%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n" % row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=42,
                    help="initialization, shuffling and dropout (default 42)")
    ap.add_argument("--keep-seed", type=int, default=42,
                    help="which footwear examples are kept (default 42, as day5.nn)")
    ap.add_argument("--keep-rng", choices=["numpy", "nnc"], default="numpy",
                    help="numpy: the Keras script's choice of kept examples (default); "
                    "nnc: the same examples as nnc's runtime")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=None, help="write history.csv here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # dropout masks

    def log(line):
        if not args.quiet:
            print(line, flush=True)

    (xtr, ytr), (xva, yva), (xte, yte) = load_data(args.data, args.keep_seed, args.keep_rng)
    counts = np.bincount(ytr, minlength=N_CLASSES)
    class_weight = torch.tensor(len(ytr) / (N_CLASSES * counts), dtype=torch.float32)
    mean, variance = adapt_normalization(xtr)
    log(f"train: {len(ytr)} examples, per class {counts.tolist()}; "
        f"validation: {len(yva)} examples; mean {mean:.4f}, variance {variance:.2f}")
    train = (normalize(xtr, mean, variance), torch.from_numpy(ytr.astype(np.int64)))
    val = (normalize(xva, mean, variance), torch.from_numpy(yva.astype(np.int64)))
    test = (normalize(xte, mean, variance), torch.from_numpy(yte.astype(np.int64)))

    params = init_params(torch.Generator().manual_seed(args.seed))
    history, best_weights, best_epoch = fit(params, train, val, class_weight, args, log)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_history(os.path.join(args.out, "history.csv"), history)

    # the best val_accuracy checkpoint, as the tutorial's load_model does
    test_loss, test_acc, pred = evaluate(best_weights, *test)
    cm = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(cm, (test[1].numpy(), pred.numpy()), 1)
    recall = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    log(f"\ntest: {len(yte)} examples - loss: {test_loss:.4f} - accuracy: "
        f"{test_acc:.4f} (best epoch {best_epoch})")
    for name, r in zip(CLASS_NAMES, recall):
        log(f"{name:>12} {r:6.1%}")

    seconds = [row[6] for row in history]
    result = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "seed": args.seed,
        "keep": "%s:%d" % (args.keep_rng, args.keep_seed),
        "n_train": int(len(ytr)),
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "mean_epoch_seconds": sum(seconds) / len(seconds),
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "recall": {CLASS_NAMES[c]: float(recall[c]) for c in FOOTWEAR},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
