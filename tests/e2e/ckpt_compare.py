#!/usr/bin/env python3
"""Compares nnc checkpoints tensor by tensor (tests/e2e/run_mpi_test.sh).

usage: ckpt_compare.py A.ckpt B.ckpt [--rtol R] [--atol A]   same tensors, |a - b| <= atol + rtol |b|
       ckpt_compare.py --check A.ckpt                        the file is whole (checksum, layout)

The layout is runtime/rt_ckpt.c's (format 2): magic "NNCKPT\\0\\0", u32 version,
u32 tensor count, meta (model[64], u64 identity, run[48], i32 epoch, i64 step,
f64 monitor), per tensor u32 name length, name, u64 count, float32 data, then
u64 state count and the state words; a CRC-32 of everything before it.
Exit status: 0 equal (or whole), 1 different (or damaged), 2 usage.
"""
import struct
import sys
import zlib


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    meta = 64 + 8 + 48 + 4 + 8 + 8
    if len(raw) < 16 + meta + 4 or raw[:8] != b"NNCKPT\0\0":
        raise ValueError(f"{path}: not an nnc checkpoint")
    body, (crc,) = raw[:-4], struct.unpack("<I", raw[-4:])
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise ValueError(f"{path}: checksum mismatch")
    _, n = struct.unpack_from("<II", body, 8)
    at = 16 + meta
    tensors = {}
    for _ in range(n):
        (length,) = struct.unpack_from("<I", body, at)
        name = body[at + 4:at + 4 + length].decode()
        (count,) = struct.unpack_from("<Q", body, at + 4 + length)
        at += 12 + length
        tensors[name] = struct.unpack_from(f"<{count}f", body, at)
        at += 4 * count
    (n_state,) = struct.unpack_from("<Q", body, at)  # the resume state (last.ckpt only)
    at += 8 + 8 * n_state
    if at != len(body):
        raise ValueError(f"{path}: {len(body) - at} bytes after the last tensor")
    return tensors


def compare(a_path, b_path, rtol, atol):
    a, b = load(a_path), load(b_path)
    if list(a) != list(b):
        print(f"different tensors: {list(a)} vs {list(b)}")
        return 1
    bad = 0
    for name in a:
        x, y = a[name], b[name]
        if len(x) != len(y):
            print(f"{name}: {len(x)} vs {len(y)} values")
            bad += 1
            continue
        worst = max((abs(p - q) - rtol * abs(q) for p, q in zip(x, y)), default=0.0)
        diff = max((abs(p - q) for p, q in zip(x, y)), default=0.0)
        ok = worst <= atol
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:40s} {len(x):8d} values, max |a - b| {diff:.3g}")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        n = len(load(argv[2]))
        print(f"{argv[2]}: whole, {n} tensors")
        return 0
    args = argv[1:]
    rtol, atol = 1e-4, 1e-5
    while len(args) > 2:
        flag, value = args[-2], float(args[-1])
        if flag == "--rtol":
            rtol = value
        elif flag == "--atol":
            atol = value
        else:
            break
        args = args[:-2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return compare(args[0], args[1], rtol, atol)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, struct.error) as e:
        print(f"ckpt_compare: {e}", file=sys.stderr)
        sys.exit(1)
