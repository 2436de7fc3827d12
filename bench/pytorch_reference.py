#!/usr/bin/env python3
"""PyTorch reference for `rlsf bench model`: the same decoder-only transformer (pre-norm blocks, causal multi-head
attention, GELU MLP, learned absolute positions, untied output layer; or with --arch llama, rlsf's llama design:
RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention, no biases), the same shapes and the same
measurements, printed as the same name=value lines. Run with Debian's Python and python3-torch (bench/run installs it):

    /usr/bin/python3 bench/pytorch_reference.py --threads 2 [--vocab 512 --d 128 --layers 4 --heads 4 ...]

Measures: LM training step (forward + backward + AdamW), DPO step (policy log-probs of chosen and rejected
responses, DPO loss against fixed reference log-probs, backward, AdamW), KV-cache greedy generation. Never
needed by the tests.

--only dpo measures the DPO step alone (as `rlsf bench dpo`), and --lora-rank R puts hand-written LoRA adapters on
the blocks' projections (--lora-targets all | attn: every projection, or the attention input only) the way rlsf
trains them: base weights frozen (requires_grad False, so PyTorch skips their weight gradients), A drawn
Kaiming-uniform and frozen, B zero and the only trainable tensor; peak RSS is reported.
"""
import argparse
import ctypes
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, d_ff)
        self.fc2 = nn.Linear(d_ff, d)

    def attend(self, x, cache=None):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:   # preallocated [B, H, T_max, dh] buffers, written in place
            pos = cache["len"]
            cache["k"][:, :, pos:pos + t] = k
            cache["v"][:, :, pos:pos + t] = v
            cache["len"] = pos + t
            k, v = cache["k"][:, :, :pos + t], cache["v"][:, :, :pos + t]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        if t > 1:   # training and prefill: causal (the cache is empty then); one new token sees every key
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))

    def forward(self, x, cache=None):
        x = x + self.attend(self.ln1(x), cache)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, kv_heads, d_ff):
        super().__init__()
        self.heads, self.kv = heads, kv_heads
        dh = d // heads
        self.n1, self.n2 = RmsNorm(d), RmsNorm(d)
        self.q = nn.Linear(d, heads * dh, bias=False)
        self.k = nn.Linear(d, kv_heads * dh, bias=False)
        self.v = nn.Linear(d, kv_heads * dh, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(d, d_ff, bias=False)
        self.up = nn.Linear(d, d_ff, bias=False)
        self.down = nn.Linear(d_ff, d, bias=False)

    def attend(self, x, cos, sin, cache=None):
        b, t, d = x.shape
        dh = d // self.heads
        q = self.q(x).view(b, t, self.heads, dh).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv, dh).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv, dh).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None:
            pos = cache["len"]
            cache["k"][:, :, pos:pos + t] = k
            cache["v"][:, :, pos:pos + t] = v
            cache["len"] = pos + t
            k, v = cache["k"][:, :, :pos + t], cache["v"][:, :, :pos + t]
        k = k.repeat_interleave(self.heads // self.kv, dim=1)
        v = v.repeat_interleave(self.heads // self.kv, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dh)
        if t > 1:
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.o(y.transpose(1, 2).reshape(b, t, d))

    def forward(self, x, cos, sin, cache=None):
        x = x + self.attend(self.n1(x), cos, sin, cache)
        m = self.n2(x)
        return x + self.down(F.silu(self.gate(m)) * self.up(m))


class Llama(nn.Module):
    def __init__(self, vocab, d, layers, heads, kv_heads, d_ff, context, theta):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d, heads, kv_heads, d_ff) for _ in range(layers))
        self.norm = RmsNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        dh = d // heads
        inv = 1.0 / (theta ** (torch.arange(0, dh, 2).float() / dh))
        freqs = torch.outer(torch.arange(context).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids, caches=None, start=0):
        t = ids.shape[1]
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]
        x = self.tok(ids)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, None if caches is None else caches[i])
        return self.head(self.norm(x))


class Gpt(nn.Module):
    def __init__(self, vocab, d, layers, heads, d_ff, context):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads, d_ff) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids, caches=None, start=0):
        pos = torch.arange(start, start + ids.shape[1])
        x = self.tok(ids) + self.pos(pos)
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.ln(x))


class LoraLinear(nn.Module):
    """y = base(x) + s * (x A^T) B^T with base and A frozen, B trained (rlsf's exact-averaging scheme)."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features), requires_grad=False)
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)


def add_lora(model, rank, alpha, targets):
    """Freezes every parameter, then wraps the chosen projections of every block with adapters."""
    for p in model.parameters():
        p.requires_grad_(False)
    names = {"all": ["qkv", "proj", "fc1", "fc2", "q", "k", "v", "o", "gate", "up", "down"],
             "attn": ["qkv", "q", "v"]}[targets]
    for block in model.blocks:
        for name in names:
            if isinstance(getattr(block, name, None), nn.Linear):
                setattr(block, name, LoraLinear(getattr(block, name), rank, alpha))


def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - t0


def openblas_threads():
    """The thread count of the OpenBLAS this process loaded (Debian's torch links the system one, which ignores
    torch.set_num_threads and follows OPENBLAS_NUM_THREADS / OMP_NUM_THREADS or the core count), or n/a."""
    try:
        with open("/proc/self/maps") as maps:
            path = next((l.split()[-1] for l in maps if "libopenblas" in l and l.split()[-1].startswith("/")), None)
        if path is None:
            return "n/a"
        return ctypes.CDLL(path).openblas_get_num_threads()
    except (OSError, AttributeError):
        return "n/a"


def blas_library():
    """The BLAS this process loaded, as its file path: Debian's torch calls whatever libblas.so.3 the alternatives
    system points at, which is the slow reference BLAS unless an optimised one (libopenblas0-pthread) is installed."""
    with open("/proc/self/maps") as maps:
        libs = {l.split()[-1] for l in maps if l.split()[-1].startswith("/") and ("blas" in l.split()[-1] or "mkl" in l.split()[-1])}
    return ",".join(sorted(libs)) or "n/a"


def dpo(model, ids, a, out):
    """The DPO step: batch/2 pairs, rows 2i/2i+1 = chosen/rejected, prompt = the first quarter."""
    pairs = max(1, a.batch // 2)
    prompt_len = a.seq // 4
    rows = ids[: 2 * pairs, : a.seq + 1]
    mask = torch.zeros(2 * pairs, a.seq)
    mask[:, prompt_len - 1:] = 1.0   # positions predicting response tokens
    ref = torch.full((2 * pairs,), -50.0)
    beta = 0.1
    opt2 = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def dpo_step():
        opt2.zero_grad(set_to_none=True)
        logp = F.log_softmax(model(rows[:, :-1]), dim=-1)
        tok = logp.gather(2, rows[:, 1:].unsqueeze(-1)).squeeze(-1)
        seq_logp = (tok * mask).sum(1)
        r = beta * (seq_logp - ref)
        loss = -F.logsigmoid(r[0::2] - r[1::2]).mean()
        loss.backward()
        opt2.step()

    s = timed(dpo_step, a.steps, a.warmup)
    out["dpo_step_ms"] = 1000 * s / a.steps
    out["dpo_tokens_per_s"] = 2 * pairs * a.seq * a.steps / s
    out["dpo_pairs_per_s"] = pairs * a.steps / s


def sgemm_gflops(n=1024):
    """This process's float32 matrix-product rate on one [n, n]·[n, n] product (GFLOP/s, best of 5 after a warm-up)."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=512)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)    # the same counts as rlsf bench model's defaults
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--prompt-tokens", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--gen-batches", default="1,16,64")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--arch", default="rlsf", choices=["rlsf", "llama"])
    ap.add_argument("--kv-heads", type=int, default=0)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--only", default="all", choices=["all", "dpo"])
    ap.add_argument("--lora-rank", type=int, default=0)
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--lora-targets", default="all", choices=["all", "attn"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    kv = a.kv_heads or a.heads
    model = (Llama(a.vocab, a.d, a.layers, a.heads, kv, a.d_ff, a.context, a.rope_theta) if a.arch == "llama"
             else Gpt(a.vocab, a.d, a.layers, a.heads, a.d_ff, a.context))
    params = sum(p.numel() for p in model.parameters())
    out = {"torch_version": torch.__version__, "threads": a.threads, "torch_threads": torch.get_num_threads(),
           "openblas_threads": openblas_threads(), "blas_library": blas_library(), "env_omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
           "env_openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
           "env_openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"), "sgemm_gflops": sgemm_gflops(),
           "vocab_size": a.vocab, "d_model": a.d,
           "n_layers": a.layers, "n_heads": a.heads, "parameters": params, "seq_len": a.seq, "train_batch": a.batch}

    ids = torch.randint(3, a.vocab, (a.batch, a.seq + 1))
    if a.only == "dpo":
        if a.lora_rank > 0:
            add_lora(model, a.lora_rank, a.lora_alpha, a.lora_targets)
        out["lora_rank"] = a.lora_rank
        out["trainable_parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
        dpo(model, ids, a, out)
        out["peak_rss_mb"] = peak_rss_mb()
        for k, v in out.items():
            print(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}")
        return

    # 1) LM step
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def lm_step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()

    s = timed(lm_step, a.steps, a.warmup)
    out["train_step_ms"] = 1000 * s / a.steps
    out["train_tokens_per_s"] = a.batch * a.seq * a.steps / s

    dpo(model, ids, a, out)

    # 3) KV-cache greedy generation (no EOS: every row generates new_tokens)
    model.eval()
    for b in [int(x) for x in a.gen_batches.split(",")]:
        prompt = torch.randint(3, a.vocab, (b, a.prompt_tokens + 1))

        def generate(n):
            with torch.inference_mode():
                hd = a.d // a.heads
                ch = kv if a.arch == "llama" else a.heads
                caches = [{"len": 0, "k": torch.empty(b, ch, prompt.shape[1] + n, hd),
                           "v": torch.empty(b, ch, prompt.shape[1] + n, hd)} for _ in model.blocks]
                logits = model(prompt, caches, 0)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                pos = prompt.shape[1]
                for _ in range(n - 1):
                    logits = model(nxt, caches, pos)
                    nxt = logits[:, -1].argmax(-1, keepdim=True)
                    pos += 1

        for _ in range(max(1, a.warmup)):   # the same full-generation warm-up as rlsf bench model
            generate(a.new_tokens)
        runs = []
        for _ in range(3):   # the median of three, each repeated until it ran 0.3 s, as rlsf bench model does
            n = 0
            t0 = time.perf_counter()
            while True:
                generate(a.new_tokens)
                n += 1
                if time.perf_counter() - t0 >= 0.3:
                    break
            runs.append((time.perf_counter() - t0) / n)
        out[f"gen_batch{b}_tokens_per_s"] = b * a.new_tokens / sorted(runs)[1]

    # 3b) CoT-decoding as rlsf bench model runs it: 16 prompts, K=10 branches on each prompt's top first tokens,
    #     greedy after, the branches of as many prompts as fit in 64 rows decoded together (no EOS)
    def cot_decode(prompts, k=10, rows=64):
        per = max(1, rows // k)
        hd = a.d // a.heads
        ch = kv if a.arch == "llama" else a.heads
        with torch.inference_mode():
            for g in range(0, prompts.shape[0], per):
                p = prompts[g:g + per]
                n = p.shape[0]
                caches = [{"len": 0, "k": torch.empty(n, ch, p.shape[1] + a.new_tokens, hd),
                           "v": torch.empty(n, ch, p.shape[1] + a.new_tokens, hd)} for _ in model.blocks]
                logits = model(p, caches, 0)
                first = logits[:, -1].topk(k, dim=-1).indices.reshape(n * k, 1)   # [n·K, 1]
                for c in caches:   # each prompt's cache, once per branch
                    c["k"] = c["k"].repeat_interleave(k, dim=0)
                    c["v"] = c["v"].repeat_interleave(k, dim=0)
                nxt, pos = first, p.shape[1]
                for _ in range(a.new_tokens - 1):
                    logits = model(nxt, caches, pos)
                    nxt = logits[:, -1].argmax(-1, keepdim=True)
                    pos += 1

    cot_prompts = torch.randint(3, a.vocab, (16, a.prompt_tokens))
    cot_decode(cot_prompts)   # warm-up: the same work once, as rlsf bench model does
    t0 = time.perf_counter()
    cot_decode(cot_prompts)
    cot_s = time.perf_counter() - t0
    out["cot_decoding_prompts_per_s"] = 16 / cot_s
    out["cot_decoding_tokens_per_s"] = 16 * 10 * a.new_tokens / cot_s

    for k, v in out.items():
        print(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}")


if __name__ == "__main__":
    main()
