#!/usr/bin/python3
"""reference_vgg16.py -- one training step of models/vgg16.nn in plain PyTorch.

The yardstick for nnc's memory plan (bench/memory): the same model as
models/vgg16.nn -- Keras's VGG16(include_top=False) at 224x224x3 (13 conv
3x3 relu 'same', 5 max-pools), global average pooling, dense 10 -- the
same loss (sparse categorical cross-entropy, mean over the batch) and
optimizer (Adam, lr 1e-3), one step on a batch of random u8 images scaled
by 1/255. torch.optim.Adam keeps the same state as nnc (two moments per
parameter). NCHW, torch's native layout; on the CPU torch's convolutions
run through its own kernels (mkldnn where built, else im2col per example),
so the peak is torch's, measured, not modelled.

Prints one line of key=value pairs: the peak resident set size before the
model exists (the library), after building it, and after the step(s), in
bytes (getrusage: ru_maxrss), and the seconds per step.
usage: reference_vgg16.py [--batch 32] [--steps 1] [--threads 2]
"""
import argparse
import resource
import time

import torch
import torch.nn as nn

CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"]


def vgg16_backbone():
    layers, channels = [], 3
    for v in CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU(inplace=True)]
            channels = v
    return nn.Sequential(*layers)


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    library = peak_rss()
    model = nn.Sequential(vgg16_backbone(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(512, 10))
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(42)
    images = torch.randint(0, 256, (args.batch, 3, 224, 224), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (args.batch,), generator=gen)
    built = peak_rss()
    start = time.time()
    for _ in range(args.steps):
        opt.zero_grad()
        loss = loss_fn(model(images.float() / 255.0), labels)
        loss.backward()
        opt.step()
    seconds = (time.time() - start) / args.steps
    print(f"torch={torch.__version__} params={params} batch={args.batch} steps={args.steps} "
          f"loss={loss.item():.4f} rss_library={library} rss_model={built} "
          f"rss_peak={peak_rss()} seconds_per_step={seconds:.1f}")


if __name__ == "__main__":
    main()
