"""The PyTorch anchor for bench/explain_bench.sh: the forwards a causal trace runs, in
PyTorch, at the same shape and scheduled as slm schedules them (src/slm/explain/patcher.cpp):
a clean run; the corrupted run, once per noise draw, keeping each layer's input, keys and
values; then every restoration (3 kinds of state, each row and position from the subject
on; equal restorations once) resumes from the corrupted run at its first layer and
position, those resuming at the same layer and nearly the same position batched into one
forward (a window per draw), the head on the last position only, no gradients. The
restorations themselves (row copies inside the layers) are left out: a lower bound for a
PyTorch trace. With NAIVE=1 in the environment it also times the naive schedule (a full
forward of every window for each kind and row), for comparison.
Usage: python3 torch_trace.py CONFIG_JSON VOCAB TOKENS SAMPLES THREADS SUBJECT_BEGIN SUBJECT_END [WINDOW]"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Llama, rotate_half  # noqa: E402

MAX_TOKENS = 1 << 14  # slm's batch limit (Patcher::run)


def block(b, x, pos, past, cos, sin):
    """Block b over x [B, T, C] at positions pos.., after the keys and values past (or None).
    Returns the output and this block's keys and values over every position."""
    B, T, C = x.shape
    h = b.n1(x)
    q = b.q(h).view(B, T, b.h, b.d).transpose(1, 2)
    k = b.k(h).view(B, T, b.kv, b.d).transpose(1, 2)
    v = b.v(h).view(B, T, b.kv, b.d).transpose(1, 2)
    c, s = cos[pos:pos + T], sin[pos:pos + T]
    q, k = q * c + rotate_half(q) * s, k * c + rotate_half(k) * s
    if past is not None:
        k, v = torch.cat((past[0], k), 2), torch.cat((past[1], v), 2)
    kv = (k, v)
    if b.kv != b.h:
        k, v = k.repeat_interleave(b.h // b.kv, dim=1), v.repeat_interleave(b.h // b.kv, dim=1)
    hidden = torch.ones(T, pos + T, dtype=torch.bool).triu(pos + 1)  # query i is position pos + i
    att = (q @ k.transpose(-2, -1)) / math.sqrt(b.d)
    a = att.masked_fill(hidden, float("-inf")).softmax(-1) @ v
    x = x + b.o(a.transpose(1, 2).reshape(B, T, C))
    h = b.n2(x)
    return x + b.dn(F.silu(b.g(h)) * b.u(h)), kv


def run_from(m, x, layer, pos, past, cos, sin, keep=None):
    """The blocks from layer on; past[l]: keys and values before pos. keep: lists to fill with
    each layer's input and keys/values (the corrupted run)."""
    for l in range(layer, len(m.blocks)):
        if keep is not None:
            keep[0].append(x)
        x, kv = block(m.blocks[l], x, pos, past[l] if past else None, cos, sin)
        if keep is not None:
            keep[1].append(kv)
    if keep is not None:
        keep[0].append(x)
    return m.norm(x[:, -1]) @ m.emb.weight.t()


def schedule(L, T, sb, se, window):
    """slm's batches: (layer, first position, items) with equal restorations once."""
    starts = set()
    for k in range(3):
        for l in range(-1 if k == 0 else 0, L):
            last = se if l < 0 else T
            for t in range(sb, last):
                if l < 0:
                    starts.add((0, t, "embed", (0,)))
                elif k == 0:
                    starts.add((l + 1, t, "resid", (l,)))
                else:
                    layers = tuple(range(max(0, l - window // 2), min(L, l + (window + 1) // 2)))
                    starts.add((layers[0], t, "mlp" if k == 1 else "attn", layers))
    items = sorted((s[0], s[1]) for s in starts)
    batches, a = [], 0
    while a < len(items):
        layer, pos = items[a]
        w = T - pos
        b = a + 1
        while b < len(items) and items[b][0] == layer and items[b][1] - pos <= max(1, w // 4) and (b - a + 1) * w <= MAX_TOKENS:
            b += 1
        batches.append((layer, pos, b - a))
        a = b
    return batches


def main():
    path, vocab, T, S, threads, sb, se = sys.argv[1], *map(int, sys.argv[2:8])
    window = int(sys.argv[8]) if len(sys.argv) > 8 else 10
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    c = {"norm_eps": 1e-5, "rope_theta": 10000.0, **json.load(open(path))["model"], "vocab_size": vocab}
    m = Llama(c).eval()
    L = c["n_layers"]
    cos, sin = m.cos, m.sin
    batches = schedule(L, T, sb, se, window)
    ids = torch.randint(0, vocab, (1, T))
    best = best_cpu = naive = float("inf")
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad():
            run_from(m, m.emb(ids), 0, 0, None, cos, sin)
            keep = ([], [])
            run_from(m, m.emb(ids.expand(S, T)), 0, 0, None, cos, sin, keep)
            for layer, pos, n in batches:
                # S draws per item: repeat the corrupted states (the copies slm makes too)
                x = keep[0][layer][:, pos:].repeat(n, 1, 1)
                past = [None] * L
                if pos > 0:
                    for l in range(layer, L):
                        past[l] = tuple(t[:, :, :pos].repeat(n, 1, 1, 1) for t in keep[1][l])
                run_from(m, x, layer, pos, past, cos, sin)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
        if os.environ.get("NAIVE"):
            t0 = time.perf_counter()
            with torch.no_grad():
                for _ in range(3 * L + 1):
                    run_from(m, m.emb(ids.expand(T * S, T).contiguous()), 0, 0, None, cos, sin)
            naive = min(naive, time.perf_counter() - t0)
    extra = f" naive_seconds={naive:.3f}" if naive < float("inf") else ""
    print(f"RESULT seconds={best:.3f} cpu_seconds={best_cpu:.3f} forwards={len(batches)} windows={sum(n for _, _, n in batches) * S}{extra}")


if __name__ == "__main__":
    main()
