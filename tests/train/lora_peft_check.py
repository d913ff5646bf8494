#!/usr/bin/env python3
"""Checks slm's LoRA adapters against Hugging Face PEFT's layout, with torch.

`slm finetune --lora` writes adapter_config.json and adapter_model.safetensors. This
script trains a tiny model and an adapter with slm, exports the base with `slm export hf`,
and then, in torch and from the files alone:
  1. reads adapter_config.json as PEFT would (peft_type LORA, task_type CAUSAL_LM, r,
     lora_alpha, target_modules with Llama's module names);
  2. names each targeted module of the exported model the way PEFT's get_peft_model does
     (base_model.model.<module>.lora_A.weight [r, in], lora_B.weight [out, r]) and finds
     exactly those tensors in adapter_model.safetensors, no more;
  3. runs every adapted layer unmerged, as PEFT's lora.Linear does,
     y = x·W0ᵀ + (alpha/r)·(x·Aᵀ)·Bᵀ, against the layer of `slm lora merge`'s model
     (exported with slm export hf): equal within float rounding.
The safetensors files are parsed here (8-byte header length, JSON header, raw F32), as
the python safetensors package is not installed; PEFT itself is not installed either, so
its loader is not run: this checks its layout and its math.

Usage: lora_peft_check.py --slm build/slm
Exit: 0 all agree, 1 a mismatch or a failed step, 77 skipped (torch is not installed).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile


def fail(msg):
    print(f"lora_peft_check: FAIL: {msg}")
    sys.exit(1)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def read_safetensors(torch, path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            fail(f"{path}: {name} is {t['dtype']}, expected F32")
        b, e = t["data_offsets"]
        data = bytearray(blob[8 + n + b:8 + n + e])
        out[name] = torch.frombuffer(data, dtype=torch.float32).reshape(t["shape"]).clone()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slm", required=True)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        # Debian's python3-torch lives in the system python, which a pyenv shim may hide.
        if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        print("lora_peft_check: skipped: python3 torch is not installed")
        sys.exit(77)
    slm = os.path.abspath(args.slm)
    q = ["--quiet", "--threads", "2"]
    with tempfile.TemporaryDirectory() as t:
        run([slm, "data", "stories", "--count", "200", "--out", f"{t}/s.txt"] + q)
        run([slm, "tokenizer", "train", f"{t}/s.txt", "--vocab-size", "400", "--out", f"{t}/tok.json"] + q)
        run([slm, "data", "pack", f"{t}/s.txt", "--tokenizer", f"{t}/tok.json", "--val-fraction", "0.2", "--out", f"{t}/shards"] + q)
        small = ["--set", "model.dim=32", "--set", "model.n_layers=2", "--set", "model.n_heads=4",
                 "--set", "model.n_kv_heads=2", "--set", "model.hidden_dim=64", "--set", "model.context=256",
                 "--set", "train.batch_size=4"]
        run([slm, "pretrain", "--data", f"{t}/shards", "--out", f"{t}/pre", "--max-steps", "20"] + small + q)
        with open(f"{t}/sft.jsonl", "w") as f:
            for i in range(60):
                name = ["Tom", "Lily", "Ben"][i % 3]
                f.write(json.dumps({"instruction": "Say the name.", "input": name, "output": f"{name} is here."}) + "\n")
        base = f"{t}/pre/model"
        run([slm, "finetune", "--base", base, "--data", f"{t}/sft.jsonl", "--out", f"{t}/lora", "--lora", "4",
             "--lora-alpha", "12", "--lora-targets", "q,k,v,o,gate,up,down", "--max-steps", "15",
             "--set", "train.lr=0.01"] + q)
        adapter = f"{t}/lora/model"
        run([slm, "lora", "merge", "--base", base, "--adapter", adapter, "--out", f"{t}/merged", "--quiet"])
        run([slm, "export", "hf", "--model", base, "--out", f"{t}/hf_base"])
        run([slm, "export", "hf", "--model", f"{t}/merged", "--out", f"{t}/hf_merged"])

        cfg = json.load(open(f"{adapter}/adapter_config.json"))
        for key, want in [("peft_type", "LORA"), ("task_type", "CAUSAL_LM"), ("r", 4), ("lora_alpha", 12),
                          ("bias", "none"), ("fan_in_fan_out", False), ("base_model_name_or_path", base)]:
            if cfg.get(key) != want:
                fail(f"adapter_config.json: {key} is {cfg.get(key)!r}, expected {want!r}")
        modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        if sorted(cfg["target_modules"]) != sorted(modules):
            fail(f"adapter_config.json: target_modules {cfg['target_modules']}")
        scale = cfg["lora_alpha"] / cfg["r"]

        w_base = read_safetensors(torch, f"{t}/hf_base/model.safetensors")
        w_merged = read_safetensors(torch, f"{t}/hf_merged/model.safetensors")
        ad = read_safetensors(torch, f"{adapter}/adapter_model.safetensors")
        # PEFT wraps every nn.Linear whose name ends with a target module; its state dict
        # names the adapter base_model.model.<module name>.lora_{A,B}.weight.
        expected = set()
        gen = torch.Generator().manual_seed(0)
        worst = 0.0
        for key, w0 in w_base.items():
            module = key[: -len(".weight")]
            if not key.endswith(".weight") or module.split(".")[-1] not in modules:
                if not torch.equal(w0, w_merged[key]):
                    fail(f"{key} is not adapted but differs after the merge")
                continue
            a_key, b_key = f"base_model.model.{module}.lora_A.weight", f"base_model.model.{module}.lora_B.weight"
            expected |= {a_key, b_key}
            if a_key not in ad or b_key not in ad:
                fail(f"adapter_model.safetensors has no {a_key} / {b_key}")
            A, B = ad[a_key].double(), ad[b_key].double()
            out_f, in_f = w0.shape
            if tuple(A.shape) != (4, in_f) or tuple(B.shape) != (out_f, 4):
                fail(f"{module}: lora_A {tuple(A.shape)}, lora_B {tuple(B.shape)} for a weight {tuple(w0.shape)}")
            x = torch.randn(5, in_f, generator=gen, dtype=torch.float64)
            unmerged = x @ w0.double().T + scale * (x @ A.T) @ B.T  # PEFT's lora.Linear forward
            merged = x @ w_merged[key].double().T
            err = (unmerged - merged).abs().max().item() / max(1e-6, unmerged.abs().max().item())
            worst = max(worst, err)
            if err > 1e-5:
                fail(f"{module}: the merged layer differs from base + adapter by {err:.2e} (relative)")
            if B.abs().max().item() == 0:
                fail(f"{module}: lora_B is all zero after training")
        if set(ad) != expected:
            fail(f"unexpected or missing adapter tensors: {sorted(set(ad) ^ expected)[:4]}")
        print(f"ok: {len(expected) // 2} adapted layers in PEFT's layout; base + adapter == merged model "
              f"(worst relative difference {worst:.1e})")


if __name__ == "__main__":
    main()
