#!/usr/bin/env python3
"""Checks `slm export hf` with transformers itself.

slm has no command that prints logits, so what slm computes is compared through two of
its outputs that depend on every logit:
  1. the mean loss per token of `slm eval loss --data SHARD.bin` (non-overlapping windows
     of the context, as eval/perplexity.cpp does) against the same windows run through
     transformers' LlamaForCausalLM loaded from the export: equal within --loss-tol;
  2. the greedy text of `slm generate --temperature 0 --raw` for a few prompts against
     transformers' greedy `generate` on the export, tokenized by the export's
     tokenizer.json through PreTrainedTokenizerFast: the same text.

Without --model, two small models are trained here (tied and untied embeddings), so the
check needs only the slm binary. The slm side and the transformers side can run on
different machines: --prepare-only writes WORK (the exports, a shard, slm's numbers),
--check-only reads it where transformers and torch are installed.

Usage:
  python3 scripts/hf_check.py --slm build/slm
  python3 scripts/hf_check.py --slm build/slm --model runs/q/pretrain/model --data runs/q/shards
  python3 scripts/hf_check.py --slm build/slm --prepare-only --work /tmp/hfc
  python3 scripts/hf_check.py --check-only --work /tmp/hfc [--device cuda]
Exit: 0 everything agrees, 1 a mismatch or a failed step, 2 bad usage,
77 skipped: python transformers or torch is not installed (nothing was compared).
"""
import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

SKIP = 77
PROMPTS = ["Once upon a time", "Tom had a red ball.", "One day, a little girl named Sue", "The cat"]
SHARD_MAGIC = {20240520: ("H", 2), 20240801: ("I", 4)}  # llm.c's uint16 and uint32 shards
SMALL = ["--set", "model.dim=32", "--set", "model.n_layers=2", "--set", "model.n_heads=4",
         "--set", "model.n_kv_heads=2", "--set", "model.hidden_dim=64", "--set", "model.context=128",
         "--set", "train.batch_size=4", "--set", "train.eval_every=1000"]


def fail(msg):
    print(f"hf_check: FAIL: {msg}")
    sys.exit(1)


def run(cmd, cwd=None):
    """Runs an slm command; its error line is the failure message."""
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def import_transformers():
    """(torch, transformers), or None with the reason printed."""
    try:
        import torch
        import transformers
    except ImportError as e:
        print(f"hf_check: SKIP: {e.name} is not installed here ({e}); nothing was compared. "
              "Run where python transformers and torch exist (pip install transformers torch), "
              "or split the work: --prepare-only here, --check-only there.")
        return None
    return torch, transformers


def read_shard(path):
    """The tokens of an llm.c .bin shard."""
    with open(path, "rb") as f:
        header = struct.unpack("<256i", f.read(1024))
        if header[0] not in SHARD_MAGIC:
            fail(f"{path}: not an llm.c token shard (magic {header[0]})")
        code, size = SHARD_MAGIC[header[0]]
        n = header[2]
        data = f.read(n * size)
    if len(data) != n * size:
        fail(f"{path}: the header says {n} tokens, the file is shorter")
    return list(struct.unpack(f"<{n}{code}", data))


def slm_loss(slm, model, shard, work):
    out = os.path.join(work, "slm_loss")
    run([slm, "eval", "loss", "--model", model, "--data", shard, "--out", out, "--quiet"])
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)["models"][0]["loss"]


def slm_greedy(slm, model, work, max_tokens):
    prompts = os.path.join(work, "prompts.jsonl")
    with open(prompts, "w") as f:
        for p in PROMPTS:
            f.write(json.dumps({"prompt": p}) + "\n")
    out = os.path.join(work, "greedy.jsonl")
    run([slm, "generate", "--model", model, "--input", prompts, "--output", out, "--temperature", "0", "--raw",
         "--max-tokens", str(max_tokens), "--quiet"])
    with open(out) as f:
        return [json.loads(line)["completion"] for line in f if line.strip()]


def prepare_one(slm, name, model, shard, work, max_tokens):
    """Exports the model and records slm's numbers in work/name/slm.json."""
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    run([slm, "export", "hf", "--model", model, "--out", os.path.join(d, "hf")])
    rec = {"model": model, "prompts": PROMPTS, "max_tokens": max_tokens,
           "completions": slm_greedy(slm, model, d, max_tokens)}
    if shard:
        shutil.copy(shard, os.path.join(d, "shard.bin"))  # travels with WORK to the checking machine
        rec["loss"] = slm_loss(slm, model, shard, d)
    with open(os.path.join(d, "slm.json"), "w") as f:
        json.dump(rec, f, indent=1)
    print(f"hf_check: {name}: exported and slm's side recorded in {d}")


def first_val_shard(data):
    if data is None or data.endswith(".bin"):
        return data
    shards = sorted(glob.glob(os.path.join(data, "val_*.bin")))
    if not shards:
        fail(f"no val_*.bin shards in {data}")
    return shards[0]


def train_small(slm, work):
    """Two small models on generated stories: (name, model folder) pairs, and a val shard."""
    q = ["--quiet", "--threads", "2"]
    d = os.path.join(work, "train")
    os.makedirs(d, exist_ok=True)
    run([slm, "data", "stories", "--count", "200", "--out", f"{d}/s.txt"] + q)
    run([slm, "tokenizer", "train", f"{d}/s.txt", "--vocab-size", "512", "--out", f"{d}/tok.json"] + q)
    run([slm, "data", "pack", f"{d}/s.txt", "--tokenizer", f"{d}/tok.json", "--val-fraction", "0.1",
         "--out", f"{d}/shards"] + q)
    models = []
    for name, tie in (("tied", "true"), ("untied", "false")):
        run([slm, "pretrain", "--config", "tiny"] + SMALL + ["--set", f"model.tie_embeddings={tie}",
            "--max-steps", "15", "--data", f"{d}/shards", "--out", f"{d}/{name}"] + q)
        models.append((name, f"{d}/{name}/model"))
    return models, first_val_shard(f"{d}/shards")


def hf_loss(torch, model, ids, context, device):
    """Mean cross-entropy per token over non-overlapping windows, as eval/perplexity.cpp."""
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(ids) - 1, context):
            n = min(context, len(ids) - 1 - s)
            x = torch.tensor([ids[s:s + n]], device=device)
            y = torch.tensor(ids[s + 1:s + n + 1], device=device)
            logits = model(x).logits[0].float()
            total += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            count += n
    return total / count, count


def hf_greedy(torch, model, tok, prompt, max_tokens, eos, device):
    """Greedy continuation text, and the smallest top-1/top-2 logit gap on the way (ties)."""
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids.to(device)
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, max_new_tokens=max_tokens, eos_token_id=eos, pad_token_id=eos,
                             output_scores=True, return_dict_in_generate=True)
    new = out.sequences[0, ids.shape[1]:].tolist()
    gaps = [float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in out.scores]
    return tok.decode(new, skip_special_tokens=True), min(gaps) if gaps else float("inf")


def collapse_replacements(text):
    return re.sub("\ufffd+", "\ufffd", text)


def check_one(libs, d, device, loss_tol):
    torch, transformers = libs
    with open(os.path.join(d, "slm.json")) as f:
        rec = json.load(f)
    hf = os.path.join(d, "hf")
    model = transformers.LlamaForCausalLM.from_pretrained(hf, torch_dtype=torch.float32).to(device).eval()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=os.path.join(hf, "tokenizer.json"))
    eos = model.config.eos_token_id
    ok = True
    name = os.path.basename(d)
    if "loss" in rec:
        ids = read_shard(os.path.join(d, "shard.bin"))[: 1 << 20]  # eval_perplexity's max_tokens
        loss, n = hf_loss(torch, model, ids, model.config.max_position_embeddings, device)
        diff = abs(loss - rec["loss"]["loss"])
        good = diff <= loss_tol and n == rec["loss"]["tokens"]
        ok &= good
        print(f"hf_check: {name}: loss per token on {n} tokens: slm {rec['loss']['loss']:.6f}, "
              f"transformers {loss:.6f}, |diff| {diff:.2e} {'ok' if good else 'MISMATCH'}")
    for prompt, theirs in zip(rec["prompts"], rec["completions"]):
        ours, gap = hf_greedy(torch, model, tok, prompt, rec["max_tokens"], eos, device)
        # A token may end inside a UTF-8 character; the two decoders may replace such bytes
        # by a different number of U+FFFD, which says nothing about the logits.
        same = ours == theirs
        good = same or collapse_replacements(ours) == collapse_replacements(theirs)
        ok &= good
        verdict = "same text" if same else "same text but for invalid UTF-8 replaced differently" if good else "MISMATCH"
        print(f"hf_check: {name}: greedy {prompt!r}: {verdict}"
              + ("" if good else f"\n  slm:          {theirs!r}\n  transformers: {ours!r}"
                 f"\n  (smallest top-2 logit gap on transformers' path: {gap:.2e}; near 0 means a tie)"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slm", help="the slm binary (for the slm side)")
    ap.add_argument("--model", help="a model folder to check (default: train two small ones)")
    ap.add_argument("--data", help="with --model: a .bin shard or a shards folder (its first val_*.bin) for the loss")
    ap.add_argument("--work", help="the folder for exports and slm's numbers (default: a temporary one)")
    ap.add_argument("--prepare-only", action="store_true", help="run slm's side only, into --work")
    ap.add_argument("--check-only", action="store_true", help="run transformers' side only, on --work")
    ap.add_argument("--device", default="cpu", help="torch device for transformers (cpu, cuda)")
    ap.add_argument("--max-tokens", type=int, default=24, help="greedy tokens per prompt")
    ap.add_argument("--loss-tol", type=float, default=1e-4, help="largest |loss difference| accepted")
    a = ap.parse_args()
    if a.prepare_only and a.check_only:
        ap.error("--prepare-only and --check-only exclude each other")
    if (a.prepare_only or a.check_only) and not a.work:
        ap.error("--prepare-only and --check-only need --work (where slm's side is kept)")
    if not a.check_only and not a.slm:
        ap.error("--slm is needed to run slm's side")
    if a.max_tokens < 1 or a.loss_tol <= 0:
        ap.error("--max-tokens must be at least 1 and --loss-tol above 0")
    libs = None
    if not a.prepare_only:
        libs = import_transformers()
        if libs is None:
            sys.exit(SKIP)
    work = a.work or tempfile.mkdtemp(prefix="hf_check-")
    if not a.check_only:
        slm = os.path.abspath(a.slm)
        if a.model:
            models, shard = [("model", a.model)], first_val_shard(a.data)
            if not shard:
                print("hf_check: note: no --data: greedy text only, no loss comparison")
        else:
            models, shard = train_small(slm, work)
        for name, model in models:
            prepare_one(slm, name, model, shard, work, a.max_tokens)
    if a.prepare_only:
        return
    dirs = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(work, "*", "slm.json")))
    if not dirs:
        fail(f"nothing prepared in {work} (no */slm.json): run --prepare-only first")
    ok = all([check_one(libs, d, a.device, a.loss_tol) for d in dirs])
    print("hf_check: " + ("ok: transformers agrees with slm" if ok else "FAIL: transformers disagrees with slm"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
