#!/usr/bin/env python3
"""compare_probs.py A.txt B.txt [TOL]: two files of probabilities, one example
per line, must agree to TOL (max absolute difference); prints the figure."""
import sys

def read(path):
    with open(path) as f:
        return [[float(v) for v in line.replace(",", " ").split()] for line in f if line.strip()]

a, b = read(sys.argv[1]), read(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
if len(a) != len(b) or any(len(r) != len(s) for r, s in zip(a, b)):
    sys.exit(f"compare_probs: {sys.argv[1]} and {sys.argv[2]} differ in shape")
worst = max(abs(x - y) for r, s in zip(a, b) for x, y in zip(r, s))
print(f"compare_probs: {len(a)} examples, max |difference| {worst:.3g} ({sys.argv[1]} vs {sys.argv[2]})")
sys.exit(0 if worst <= tol else 1)
