#!/usr/bin/env python3
"""Generate tests/data/torch_reference.h: reference values from PyTorch for
tests/test_ops.c (llm.c's test_gpt2 idea: compare against an independent
framework's autograd, not only against our own finite differences).

Run from the repository root with a Python that has torch (Debian:
apt-get install python3-torch, then /usr/bin/python3 tests/torch_ref/gen_reference.py).
The generated header is committed; torch is never needed to build or test.

Everything is computed in float64 from the fixed inputs below, which are
written into the header too, so the C test feeds the kernels exactly these.

  1. dense + relu: out = relu(x . w + b); gradients of L = sum(out * r)
     with respect to x, w and b.
  2. sparse softmax cross-entropy from logits with sample weights, Keras
     reduction sum_over_batch_size: loss = sum_i(w_i * l_i) / batch;
     the loss, the probabilities and d loss / d logits.
  4. categorical cross-entropy from logits with label smoothing 0.1
     (torch's cross_entropy(label_smoothing=) is Keras's target smoothing).
  5. binary cross-entropy from logits over (m, k) targets smoothed by 0.2,
     mean over the targets and the batch (Keras's BinaryCrossentropy).
  3. one Adam step in the KERAS form (epsilon added after the bias-corrected
     step size), computed by hand: torch.optim.Adam uses the other form.
"""
import os
import sys

import torch

torch.set_default_dtype(torch.float64)

# ---- 1. dense + relu ----
DENSE_M, DENSE_K, DENSE_N = 4, 5, 3
DENSE_X = [
    [0.5, -1.2, 0.3, 0.8, -0.4],
    [1.1, 0.2, -0.7, 0.05, 0.9],
    [-0.3, 0.6, 1.4, -1.0, 0.2],
    [0.0, -0.5, 0.25, 0.7, -1.3],
]
DENSE_W = [
    [0.2, -0.5, 0.7],
    [-0.3, 0.4, 0.1],
    [0.6, 0.3, -0.8],
    [-0.1, 0.9, 0.5],
    [0.45, -0.2, 0.35],
]
DENSE_B = [0.1, -0.2, 0.05]
DENSE_R = [
    [1.0, -0.5, 0.25],
    [0.3, 0.8, -1.1],
    [-0.7, 0.2, 0.6],
    [0.9, -0.4, 0.15],
]

# ---- 2. softmax cross-entropy with sample weights ----
XENT_M, XENT_C = 4, 5
XENT_LOGITS = [
    [2.0, -1.0, 0.5, 0.0, 1.5],
    [-0.5, 3.0, 0.2, -2.0, 0.1],
    [0.3, 0.3, 0.3, 0.3, 0.3],
    [10.0, -5.0, 2.0, 8.0, 0.0],
]
XENT_LABELS = [0, 2, 4, 3]
XENT_WEIGHTS = [1.0, 2.5, 0.5, 1.5]

# ---- 3. one Keras Adam step (t = 3, with nonzero optimizer state) ----
ADAM_PARAM = [0.5, -1.0, 2.0, 0.0]
ADAM_GRAD = [0.1, -0.3, 0.02, 1.5]
ADAM_M = [0.01, -0.02, 0.0, 0.2]
ADAM_V = [1e-4, 4e-4, 1e-6, 0.05]
ADAM_LR, ADAM_B1, ADAM_B2, ADAM_EPS, ADAM_T = 0.01, 0.9, 0.999, 1e-7, 3


def dense_relu():
    x = torch.tensor(DENSE_X, requires_grad=True)
    w = torch.tensor(DENSE_W, requires_grad=True)
    b = torch.tensor(DENSE_B, requires_grad=True)
    pre = x @ w + b
    # Keep every pre-activation away from relu's kink, where gradients are ambiguous.
    assert pre.abs().min().item() > 1e-2, pre
    out = torch.relu(pre)
    (out * torch.tensor(DENSE_R)).sum().backward()
    return out.detach(), x.grad, w.grad, b.grad


def softmax_xent():
    logits = torch.tensor(XENT_LOGITS, requires_grad=True)
    labels = torch.tensor(XENT_LABELS)
    weights = torch.tensor(XENT_WEIGHTS)
    per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    loss = (weights * per_example).sum() / XENT_M  # Keras: divide by batch, not sum(w)
    loss.backward()
    return loss.detach(), torch.softmax(logits.detach(), dim=1), logits.grad


# ---- 4. smoothed categorical cross-entropy: XENT_LOGITS, XENT_LABELS ----
SMOOTH = 0.1

# ---- 5. binary cross-entropy from logits ----
BXENT_M, BXENT_K = 3, 4
BXENT_LOGITS = [
    [1.5, -0.3, 2.2, -1.7],
    [-0.6, 0.9, -2.4, 0.1],
    [3.1, -1.2, 0.4, -0.05],
]
BXENT_TARGETS = [
    [1.0, 0.0, 1.0, 0.0],
    [0.0, 1.0, 1.0, 0.0],
    [1.0, 1.0, 0.0, 1.0],
]
BXENT_SMOOTH = 0.2


def smoothed_xent():
    logits = torch.tensor(XENT_LOGITS, requires_grad=True)
    labels = torch.tensor(XENT_LABELS)
    loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=SMOOTH)
    loss.backward()
    return loss.detach(), logits.grad


def binary_xent():
    logits = torch.tensor(BXENT_LOGITS, requires_grad=True)
    targets = torch.tensor(BXENT_TARGETS) * (1 - BXENT_SMOOTH) + 0.5 * BXENT_SMOOTH
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    loss.backward()
    return loss.detach(), torch.sigmoid(logits.detach()), logits.grad


def keras_adam_step():
    p, g = torch.tensor(ADAM_PARAM), torch.tensor(ADAM_GRAD)
    m, v = torch.tensor(ADAM_M), torch.tensor(ADAM_V)
    m = m + (g - m) * (1 - ADAM_B1)
    v = v + (g * g - v) * (1 - ADAM_B2)
    alpha = ADAM_LR * (1 - ADAM_B2**ADAM_T) ** 0.5 / (1 - ADAM_B1**ADAM_T)
    p = p - alpha * m / (v.sqrt() + ADAM_EPS)
    return p, m, v


def c_float(v):
    """A float literal C accepts: 1 becomes 1.0f, not 1f."""
    s = "%.9g" % v
    if not any(ch in s for ch in ".e"):
        s += ".0"
    return s + "f"


def c_values(values):
    flat = torch.as_tensor(values).flatten().tolist()
    return ", ".join(c_float(v) for v in flat)


def c_array(name, values, shape):
    return "static const float %s[%s] = {%s};\n" % (name, shape, c_values(values))


def main():
    out, dx, dw, db = dense_relu()
    loss, probs, dlogits = softmax_xent()
    adam_p, adam_m, adam_v = keras_adam_step()
    smooth_loss, smooth_dlogits = smoothed_xent()
    bxent_loss, bxent_probs, bxent_dlogits = binary_xent()
    text = [
        "/* Generated by tests/torch_ref/gen_reference.py with torch %s. Do not edit. */\n"
        % torch.__version__,
        "#ifndef NNC_TORCH_REFERENCE_H\n#define NNC_TORCH_REFERENCE_H\n\n",
        "/* dense + relu: out = relu(x . w + b), L = sum(out * r) */\n",
        "#define TREF_DENSE_M %d\n#define TREF_DENSE_K %d\n#define TREF_DENSE_N %d\n"
        % (DENSE_M, DENSE_K, DENSE_N),
        c_array("tref_dense_x", DENSE_X, "%d * %d" % (DENSE_M, DENSE_K)),
        c_array("tref_dense_w", DENSE_W, "%d * %d" % (DENSE_K, DENSE_N)),
        c_array("tref_dense_b", DENSE_B, "%d" % DENSE_N),
        c_array("tref_dense_r", DENSE_R, "%d * %d" % (DENSE_M, DENSE_N)),
        c_array("tref_dense_out", out, "%d * %d" % (DENSE_M, DENSE_N)),
        c_array("tref_dense_dx", dx, "%d * %d" % (DENSE_M, DENSE_K)),
        c_array("tref_dense_dw", dw, "%d * %d" % (DENSE_K, DENSE_N)),
        c_array("tref_dense_db", db, "%d" % DENSE_N),
        "\n/* softmax cross-entropy from logits, loss = sum(w_i l_i) / batch */\n",
        "#define TREF_XENT_M %d\n#define TREF_XENT_C %d\n" % (XENT_M, XENT_C),
        c_array("tref_xent_logits", XENT_LOGITS, "%d * %d" % (XENT_M, XENT_C)),
        "static const unsigned char tref_xent_labels[%d] = {%s};\n"
        % (XENT_M, ", ".join(str(v) for v in XENT_LABELS)),
        c_array("tref_xent_weights", XENT_WEIGHTS, "%d" % XENT_M),
        "static const double tref_xent_loss = %.17g;\n" % loss.item(),
        c_array("tref_xent_probs", probs, "%d * %d" % (XENT_M, XENT_C)),
        c_array("tref_xent_dlogits", dlogits, "%d * %d" % (XENT_M, XENT_C)),
        "\n/* one Keras Adam step */\n",
        "#define TREF_ADAM_COUNT %d\n" % len(ADAM_PARAM),
        "#define TREF_ADAM_LR %s\n#define TREF_ADAM_B1 %s\n#define TREF_ADAM_B2 %s\n"
        % (c_float(ADAM_LR), c_float(ADAM_B1), c_float(ADAM_B2)),
        "#define TREF_ADAM_EPS %s\n#define TREF_ADAM_T %d\n" % (c_float(ADAM_EPS), ADAM_T),
        c_array("tref_adam_param", ADAM_PARAM, "%d" % len(ADAM_PARAM)),
        c_array("tref_adam_grad", ADAM_GRAD, "%d" % len(ADAM_PARAM)),
        c_array("tref_adam_m", ADAM_M, "%d" % len(ADAM_PARAM)),
        c_array("tref_adam_v", ADAM_V, "%d" % len(ADAM_PARAM)),
        c_array("tref_adam_param_after", adam_p, "%d" % len(ADAM_PARAM)),
        c_array("tref_adam_m_after", adam_m, "%d" % len(ADAM_PARAM)),
        c_array("tref_adam_v_after", adam_v, "%d" % len(ADAM_PARAM)),
        "\n/* categorical cross-entropy from logits, label smoothing, mean over the batch */\n",
        "#define TREF_SMOOTH %s\n" % c_float(SMOOTH),
        "static const double tref_smooth_loss = %.17g;\n" % smooth_loss.item(),
        c_array("tref_smooth_dlogits", smooth_dlogits, "%d * %d" % (XENT_M, XENT_C)),
        "\n/* binary cross-entropy from logits, smoothed targets, mean over k and batch */\n",
        "#define TREF_BXENT_M %d\n#define TREF_BXENT_K %d\n#define TREF_BXENT_SMOOTH %s\n"
        % (BXENT_M, BXENT_K, c_float(BXENT_SMOOTH)),
        c_array("tref_bxent_logits", BXENT_LOGITS, "%d * %d" % (BXENT_M, BXENT_K)),
        c_array("tref_bxent_targets", BXENT_TARGETS, "%d * %d" % (BXENT_M, BXENT_K)),
        "static const double tref_bxent_loss = %.17g;\n" % bxent_loss.item(),
        c_array("tref_bxent_probs", bxent_probs, "%d * %d" % (BXENT_M, BXENT_K)),
        c_array("tref_bxent_dlogits", bxent_dlogits, "%d * %d" % (BXENT_M, BXENT_K)),
        "\n#endif\n",
    ]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "tests", "data", "torch_reference.h")
    with open(path, "w") as f:
        f.write("".join(text))
    print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
