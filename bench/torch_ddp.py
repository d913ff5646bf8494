"""The PyTorch anchor for bench/dist_bench.sh: the model of torch_llama.py trained data
parallel with DistributedDataParallel over gloo (PyTorch's CPU all-reduce), WORLD processes
of one thread each, BATCH sequences a process; prints the whole world's tokens/s (mean step
time after the first two steps, as the slm side of the benchmark reads metrics.jsonl).
Usage: python3 torch_ddp.py CONFIG_JSON VOCAB BATCH STEPS WORLD"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Llama  # noqa: E402


def run(rank, world, path, vocab, B, steps, out):
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    torch.manual_seed(1)
    c = {"norm_eps": 1e-5, "rope_theta": 10000.0, **json.load(open(path))["model"], "vocab_size": vocab}
    T = c["context"]
    m = torch.nn.parallel.DistributedDataParallel(Llama(c))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    g = torch.Generator().manual_seed(rank)
    x = torch.randint(0, vocab, (B, T), generator=g)
    y = torch.randint(0, vocab, (B, T), generator=g)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = m(x, y)
        loss.backward()  # DDP all-reduces the gradients in buckets, overlapped with the backward
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    if rank == 0:
        rest = times[2:] or times
        out.put(world * B * T / (sum(rest) / len(rest)))
    dist.destroy_process_group()


def main():
    path, vocab, B, steps, world = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=run, args=(r, world, path, vocab, B, steps, out)) for r in range(world)]
    for p in procs:
        p.start()
    tps = out.get()
    for p in procs:
        p.join()
    print(f"RESULT tokens_per_s={tps:.1f} world={world} torch={torch.__version__}")


if __name__ == "__main__":
    main()
