"""The PyTorch anchor for bench/pretrain_bench.sh: the same Llama architecture as slm
(RMSNorm, rotary embeddings in Hugging Face's rotate_half layout, grouped-query attention,
SwiGLU, tied embeddings, no biases), fp32, AdamW, on random tokens; prints tokens/s.
Usage: python3 torch_llama.py CONFIG_JSON VOCAB BATCH STEPS THREADS"""
import json
import os
import resource
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"] // c["n_heads"]
        self.h, self.kv, self.d = c["n_heads"], c["n_kv_heads"], d
        self.n1 = RMSNorm(c["dim"], c["norm_eps"])
        self.q = nn.Linear(c["dim"], c["dim"], bias=False)
        self.k = nn.Linear(c["dim"], self.kv * d, bias=False)
        self.v = nn.Linear(c["dim"], self.kv * d, bias=False)
        self.o = nn.Linear(c["dim"], c["dim"], bias=False)
        self.n2 = RMSNorm(c["dim"], c["norm_eps"])
        self.g = nn.Linear(c["dim"], c["hidden_dim"], bias=False)
        self.u = nn.Linear(c["dim"], c["hidden_dim"], bias=False)
        self.dn = nn.Linear(c["hidden_dim"], c["dim"], bias=False)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        h = self.n1(x)
        q = self.q(h).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.k(h).view(B, T, self.kv, self.d).transpose(1, 2)
        v = self.v(h).view(B, T, self.kv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.kv != self.h:
            k = k.repeat_interleave(self.h // self.kv, dim=1)
            v = v.repeat_interleave(self.h // self.kv, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") else None
        if a is None:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.d)
            att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
            a = att @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, C))
        h = self.n2(x)
        return x + self.dn(F.silu(self.g(h)) * self.u(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = nn.Embedding(c["vocab_size"], c["dim"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layers"]))
        self.norm = RMSNorm(c["dim"], c["norm_eps"])
        d = c["dim"] // c["n_heads"]
        inv = c["rope_theta"] ** (-torch.arange(0, d, 2).float() / d)
        ang = torch.outer(torch.arange(c["context"]).float(), inv)
        ang = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.emb(idx)
        for b in self.blocks:
            x = b(x, self.cos[:T], self.sin[:T])
        logits = self.norm(x) @ self.emb.weight.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def main():
    path, vocab, B, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    # fp32, or bf16: PyTorch's own mixed precision on CPU (autocast to bfloat16; fp32 weights and AdamW)
    dtype = sys.argv[6] if len(sys.argv) > 6 else "fp32"
    # BENCH_CLOCK=cpu: time by process CPU time, as bench_train does on a busy machine
    clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    c = {"norm_eps": 1e-5, "rope_theta": 10000.0, **json.load(open(path))["model"], "vocab_size": vocab}
    T = c["context"]
    m = Llama(c)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    x = torch.randint(0, vocab, (B, T))
    y = torch.randint(0, vocab, (B, T))
    best = float("inf")
    for s in range(steps + 1):
        t0 = clock()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
            loss = m(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        dt = clock() - t0
        if s > 0:
            best = min(best, dt)
    n = sum(p.numel() for p in m.parameters())
    print(f"torch  {path:<16} params {n / 1e6:6.2f}M  B {B:2d} T {T:4d}  {B * T / best:8.0f} tokens/s  (PyTorch {torch.__version__}, {threads} threads, {dtype})")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RESULT tokens_per_s={B * T / best:.1f} peak_mb={peak_mb:.0f} loss={loss.item():.4f}")


if __name__ == "__main__":
    main()
