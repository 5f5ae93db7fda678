#!/usr/bin/env python3
"""idx_head.py IMAGES.idx[.gz] N OUT.bin: the first N examples' raw bytes."""
import gzip, struct, sys

path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
    magic = f.read(4)
    dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic[3])]
    size = 1
    for d in dims[1:]:
        size *= d
    data = f.read(n * size)
with open(out, "wb") as f:
    f.write(data)
