"""The PyTorch anchor for bench/explain_bench.sh: the forwards a causal trace runs, in
PyTorch, at the same shape: a clean run, a corrupted run of SAMPLES windows, then for each
of the 3 kinds of state and each layer (and the embeddings) one batched forward of
TOKENS x SAMPLES windows of TOKENS tokens, the head on the last position only, no
gradients. (The restorations themselves, row copies, are left out: a lower bound for a
PyTorch trace.) Usage: python3 torch_trace.py CONFIG_JSON VOCAB TOKENS SAMPLES THREADS"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Llama  # noqa: E402


def main():
    path, vocab, T, S, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    c = {"norm_eps": 1e-5, "rope_theta": 10000.0, **json.load(open(path))["model"], "vocab_size": vocab}
    m = Llama(c).eval()
    L = c["n_layers"]

    def last_logits(idx):
        x = m.emb(idx)
        for b in m.blocks:
            x = b(x, m.cos[:T], m.sin[:T])
        return m.norm(x[:, -1]) @ m.emb.weight.t()

    ids = torch.randint(0, vocab, (1, T))
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        with torch.no_grad():
            last_logits(ids)
            last_logits(ids.expand(S, T))
            for _ in range(3 * L + 1):
                last_logits(ids.expand(T * S, T).contiguous())
        best = min(best, time.perf_counter() - t0)
    print(f"RESULT seconds={best:.3f} forwards={3 * L + 1} windows={T * S}")


if __name__ == "__main__":
    main()
