"""The anchor for bench_distill: PyTorch's plain training step against its KD step with
cached top-k teacher logits (the same loss as slm's: alpha * CE + (1 - alpha) * T^2 *
KL(p_topk || softmax(z / T))), same architecture and shapes as bench/torch_llama.py.
Usage: torch_distill.py STUDENT_CONFIG VOCAB BATCH STEPS K THREADS"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Llama  # noqa: E402


class LlamaLogits(Llama):
    def logits(self, idx):
        T = idx.shape[1]
        x = self.emb(idx)
        for b in self.blocks:
            x = b(x, self.cos[:T], self.sin[:T])
        return self.norm(x) @ self.emb.weight.t()


def best_step(m, steps, loss_fn):
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    best = float("inf")
    for s in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        if s > 0:
            best = min(best, time.perf_counter() - t0)
    return best


def main():
    path, vocab, B, steps, K, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    c = {"norm_eps": 1e-5, "rope_theta": 10000.0, **json.load(open(path))["model"], "vocab_size": vocab}
    T, N = c["context"], B * c["context"]
    m = LlamaLogits(c)
    x = torch.randint(0, vocab, (B, T))
    y = torch.randint(0, vocab, (B, T)).view(-1)
    ids = torch.randint(0, vocab, (N, K))
    vals = torch.rand(N, K) * 4
    alpha, tau = 0.5, 2.0

    def plain():
        return F.cross_entropy(m.logits(x).view(-1, vocab), y)

    def kd():
        z = m.logits(x).view(-1, vocab)
        logq = F.log_softmax(z / tau, dim=-1)
        p = F.softmax(vals / tau, dim=-1)
        kl = (p * (torch.log(p) - logq.gather(1, ids))).sum(-1).mean()
        return alpha * F.cross_entropy(z, y) + (1 - alpha) * tau * tau * kl

    a = best_step(m, steps, plain)
    b = best_step(m, steps, kd)
    print(f"torch  plain step {a * 1e3:8.1f} ms  KD step, top-{K} cached {b * 1e3:8.1f} ms  = {b / a:.2f}x "
          f"(PyTorch {torch.__version__}, {threads} threads, fp32)")
    print(f"RESULT plain_ms={a * 1e3:.2f} cached_ms={b * 1e3:.2f} cached_ratio={b / a:.3f}")


if __name__ == "__main__":
    main()
