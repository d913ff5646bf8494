"""The PyTorch anchor for bench/lora_bench.sh: full fine-tuning and LoRA on the same
Llama architecture as slm (bench/torch_llama.py's model), fp32, AdamW over the trained
parameters only, on random tokens. LoRA as PEFT's lora.Linear computes it: the frozen
layer plus (alpha/r)·B(A(x)), A Kaiming-uniform, B zero, on q,k,v,o,gate,up,down.
Prints tokens/s, peak RSS and the bytes of trained parameters' gradients and AdamW state.
Usage: python3 torch_lora.py CONFIG_JSON VOCAB BATCH STEPS THREADS full|lora RANK"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Llama  # noqa: E402


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base, self.scale = base, alpha / r
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + self.scale * ((x @ self.A.t()) @ self.B.t())


def main():
    path, vocab, B, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    mode, r = sys.argv[6], int(sys.argv[7])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    c = {"norm_eps": 1e-5, "rope_theta": 10000.0, **json.load(open(path))["model"], "vocab_size": vocab}
    T = c["context"]
    m = Llama(c)
    if mode == "lora":
        for p in m.parameters():
            p.requires_grad_(False)
        for blk in m.blocks:
            for name in ["q", "k", "v", "o", "g", "u", "dn"]:
                setattr(blk, name, LoraLinear(getattr(blk, name), r, 2.0 * r))
    trained = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    x = torch.randint(0, vocab, (B, T))
    y = torch.randint(0, vocab, (B, T))
    best = float("inf")
    for s in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = m(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        if s > 0:
            best = min(best, time.perf_counter() - t0)
    n_all = sum(p.numel() for p in m.parameters())
    n_trained = sum(p.numel() for p in trained)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    state_mb = (n_all + 3 * n_trained) * 4 / 1e6  # weights + gradients + AdamW's two moments
    print(f"RESULT tokens_per_s={B * T / best:.1f} peak_mb={peak_mb:.0f} state_mb={state_mb:.2f} trained={n_trained}")


if __name__ == "__main__":
    main()
