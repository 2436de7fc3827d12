#!/usr/bin/env python3
"""PyTorch reference for `rlsf bench model`: the same decoder-only transformer (pre-norm blocks, causal multi-head
attention, GELU MLP, learned absolute positions, untied output layer), the same shapes and the same measurements,
printed as the same name=value lines. Run with Debian's Python and python3-torch (bench/run installs it):

    /usr/bin/python3 bench/pytorch_reference.py --threads 2 [--vocab 512 --d 128 --layers 4 --heads 4 ...]

Measures: LM training step (forward + backward + AdamW), DPO step (policy log-probs of chosen and rejected
responses, DPO loss against fixed reference log-probs, backward, AdamW), KV-cache greedy generation. Never
needed by the tests.
"""
import argparse
import math
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


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - t0


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
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--gen-batches", default="1,16,64")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    model = Gpt(a.vocab, a.d, a.layers, a.heads, a.d_ff, a.context)
    params = sum(p.numel() for p in model.parameters())
    out = {"torch_version": torch.__version__, "threads": a.threads, "vocab_size": a.vocab, "d_model": a.d,
           "n_layers": a.layers, "n_heads": a.heads, "parameters": params, "seq_len": a.seq, "train_batch": a.batch}

    # 1) LM step
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(3, a.vocab, (a.batch, a.seq + 1))

    def lm_step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()

    s = timed(lm_step, a.steps, a.warmup)
    out["train_step_ms"] = 1000 * s / a.steps
    out["train_tokens_per_s"] = a.batch * a.seq * a.steps / s

    # 2) DPO step: batch/2 pairs, rows 2i/2i+1 = chosen/rejected, prompt = the first quarter
    pairs = max(1, a.batch // 2)
    prompt_len = a.seq // 4
    rows = ids[: 2 * pairs, : a.seq + 1]
    mask = torch.zeros(2 * pairs, a.seq)
    mask[:, prompt_len - 1:] = 1.0   # positions predicting response tokens
    ref = torch.full((2 * pairs,), -50.0)
    beta = 0.1
    opt2 = torch.optim.AdamW(model.parameters(), lr=1e-4)

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

    # 3) KV-cache greedy generation (no EOS: every row generates new_tokens)
    model.eval()
    for b in [int(x) for x in a.gen_batches.split(",")]:
        prompt = torch.randint(3, a.vocab, (b, a.prompt_tokens + 1))

        def generate(n):
            with torch.inference_mode():
                hd = a.d // a.heads
                caches = [{"len": 0, "k": torch.empty(b, a.heads, prompt.shape[1] + n, hd),
                           "v": torch.empty(b, a.heads, prompt.shape[1] + n, hd)} for _ in model.blocks]
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
        for _ in range(3):   # the median of three, as rlsf bench model does
            t0 = time.perf_counter()
            generate(a.new_tokens)
            runs.append(time.perf_counter() - t0)
        out[f"gen_batch{b}_tokens_per_s"] = b * a.new_tokens / sorted(runs)[1]

    for k, v in out.items():
        print(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}")


if __name__ == "__main__":
    main()
