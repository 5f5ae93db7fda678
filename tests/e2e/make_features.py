#!/usr/bin/env python3
"""make_features.py DIR: real-valued features for f32[...] model inputs,
made here (no download, no numpy), seeded so every run writes the same bytes.

  DIR/iris_train.csv, DIR/iris_test.csv   an iris-style table: 4 measurements
      in centimetres (two decimals) of 3 species, 300 + 150 rows; the classes
      overlap a little, as the real flowers do (versicolor / virginica)
  DIR/blobs_x.npy (<f4, (400, 2, 3)), DIR/blobs_y.npy (|u1, (400,))
  DIR/blobs_test_x.npy, DIR/blobs_test_y.npy (200 rows)
      2 classes of 6 float32 features around two centres 1.5 apart, with
      values far from whole numbers (0.x scale)
  DIR/pixels_x.npy (|u1, (400, 6)): uint8 values, for the widening check
"""
import os, random, struct, sys

rng = random.Random(20261201)

SPECIES = {  # mean, standard deviation per measurement
    "setosa": ((5.0, 3.4, 1.5, 0.25), (0.35, 0.38, 0.17, 0.10)),
    "versicolor": ((5.9, 2.8, 4.3, 1.3), (0.50, 0.31, 0.47, 0.20)),
    "virginica": ((6.6, 3.0, 5.6, 2.0), (0.64, 0.32, 0.55, 0.27)),
}


def iris(path, n):
    names = list(SPECIES)
    with open(path, "w") as f:
        f.write("sepal_length,sepal_width,petal_length,petal_width,species\n")
        for i in range(n):
            mean, sd = SPECIES[names[i % 3]]
            f.write(",".join("%.2f" % rng.gauss(m, s) for m, s in zip(mean, sd)))
            f.write(",%s\n" % names[i % 3])


def npy(path, descr, shape, data):
    """A version 1.0 .npy file of C-order data (run_sources_test.sh imports it too)."""
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d," % s for s in shape))
    head += " " * (63 - (len(head) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + data)


def blobs(prefix, n):
    ys = [i % 2 for i in range(n)]
    xs = [rng.gauss(0.75 if y else -0.75, 0.5) * 0.1 for y in ys for _ in range(6)]
    npy(prefix + "x.npy", "<f4", (n, 2, 3), struct.pack("<%df" % len(xs), *xs))
    npy(prefix + "y.npy", "|u1", (n,), bytes(ys))


def main(out):
    os.makedirs(out, exist_ok=True)
    iris(os.path.join(out, "iris_train.csv"), 300)
    iris(os.path.join(out, "iris_test.csv"), 150)
    blobs(os.path.join(out, "blobs_"), 400)
    blobs(os.path.join(out, "blobs_test_"), 200)
    npy(os.path.join(out, "pixels_x.npy"), "|u1", (400, 6),
        bytes(rng.randrange(256) for _ in range(400 * 6)))


if __name__ == "__main__":
    main(sys.argv[1])
