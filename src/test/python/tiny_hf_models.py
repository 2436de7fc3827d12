#!/usr/bin/env python3
"""Writes tiny random Hugging Face checkpoints (one per supported family) and their golden outputs, as test fixtures.

Run with Debian's PyTorch (python3-torch), no transformers or safetensors needed:
    /usr/bin/python3 src/test/python/tiny_hf_models.py src/test/resources/hf

Each model directory gets config.json, generation_config.json, the weights in the Hugging Face layout and names
(model.safetensors, or shards with model.safetensors.index.json), and golden.json: the log-probabilities after every
position of fixed token sequences and a greedy continuation, from a PyTorch forward written to Hugging Face's modeling
code (GPT-2: Conv1D [in, out] weights, fused c_attn, gelu_new; Llama/Mistral/Qwen2: RMSNorm in float32, rotate_half
rotary positions with rope_theta and llama3 scaling, repeat_kv grouped-query attention, SwiGLU; Qwen2's q/k/v biases).
Weights are rounded to the stored dtype before the reference forward, which then runs in float32.
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors layout: u64 LE header size, JSON header (space-padded to 8 bytes), little-endian data."""
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        t = t.contiguous()
        data = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def rms_norm(x, w, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def inv_freq_of(cfg, dim):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = cfg.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_llama = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_llama / factor + smooth * inv_llama
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        inv = torch.where(medium, smoothed, inv_llama)
    return inv


def llama_forward(cfg, w, ids):
    """Llama / Mistral / Qwen2 forward on one sequence; returns logits [T, V]."""
    d, h = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", h)
    dh = d // h
    eps = cfg["rms_norm_eps"]
    t = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    inv = inv_freq_of(cfg, dh)
    freqs = inv[:, None].float() @ torch.arange(t).float()[None, :]          # [dh/2, T]
    emb = torch.cat((freqs.T, freqs.T), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((t, t), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name):
            y = a @ w[p + f"self_attn.{name}.weight"].T
            bias = w.get(p + f"self_attn.{name}.bias")
            return y if bias is None else y + bias

        q = proj("q_proj").view(t, h, dh).transpose(0, 1)
        k = proj("k_proj").view(t, kv, dh).transpose(0, 1)
        v = proj("v_proj").view(t, kv, dh).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(h // kv, dim=0)                               # repeat_kv
        v = v.repeat_interleave(h // kv, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh) + mask, dim=-1) @ v
        o = att.transpose(0, 1).reshape(t, d) @ w[p + "self_attn.o_proj.weight"].T
        if p + "self_attn.o_proj.bias" in w:
            o = o + w[p + "self_attn.o_proj.bias"]
        x = x + o
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = m @ w[p + "mlp.gate_proj.weight"].T
        up = m @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


def gpt2_forward(cfg, w, ids, prefix):
    d, h = cfg["n_embd"], cfg["n_head"]
    dh, eps, t = d // h, cfg["layer_norm_epsilon"], len(ids)
    x = w[prefix + "wte.weight"][torch.tensor(ids)] + w[prefix + "wpe.weight"][:t]
    mask = torch.full((t, t), float("-inf")).triu(1)
    for i in range(cfg["n_layer"]):
        p = f"{prefix}h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]     # Conv1D: [in, out]
        q, k, v = (z.view(t, h, dh).transpose(0, 1) for z in qkv.split(d, dim=1))
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh) + mask, dim=-1) @ v
        x = x + att.transpose(0, 1).reshape(t, d) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        hid = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + hid @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w[prefix + "ln_f.weight"], w[prefix + "ln_f.bias"], eps)
    return x @ w[prefix + "wte.weight"].T


def llama_weights(cfg, gen, std, tied, biases):
    d, h, f, v = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg.get("num_key_value_heads", h)
    dh = d // h
    w = {"model.embed_tokens.weight": torch.randn(v, d, generator=gen) * std}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d, generator=gen)
        w[p + "self_attn.q_proj.weight"] = torch.randn(h * dh, d, generator=gen) * std
        w[p + "self_attn.k_proj.weight"] = torch.randn(kv * dh, d, generator=gen) * std
        w[p + "self_attn.v_proj.weight"] = torch.randn(kv * dh, d, generator=gen) * std
        if biases:
            w[p + "self_attn.q_proj.bias"] = torch.randn(h * dh, generator=gen) * std
            w[p + "self_attn.k_proj.bias"] = torch.randn(kv * dh, generator=gen) * std
            w[p + "self_attn.v_proj.bias"] = torch.randn(kv * dh, generator=gen) * std
        w[p + "self_attn.o_proj.weight"] = torch.randn(d, h * dh, generator=gen) * std
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d, generator=gen)
        w[p + "mlp.gate_proj.weight"] = torch.randn(f, d, generator=gen) * std
        w[p + "mlp.up_proj.weight"] = torch.randn(f, d, generator=gen) * std
        w[p + "mlp.down_proj.weight"] = torch.randn(d, f, generator=gen) * std
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(d, generator=gen)
    if not tied:
        w["lm_head.weight"] = torch.randn(v, d, generator=gen) * std
    return w


def gpt2_weights(cfg, gen, std, prefix, buffers=True):
    d, v, n = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    w = {prefix + "wte.weight": torch.randn(v, d, generator=gen) * std,
         prefix + "wpe.weight": torch.randn(n, d, generator=gen) * std}
    for i in range(cfg["n_layer"]):
        p = f"{prefix}h.{i}."
        w[p + "ln_1.weight"] = 1 + 0.1 * torch.randn(d, generator=gen)
        w[p + "ln_1.bias"] = 0.1 * torch.randn(d, generator=gen)
        if buffers:
            w[p + "attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)   # the causal-mask buffer old files carry
        w[p + "attn.c_attn.weight"] = torch.randn(d, 3 * d, generator=gen) * std
        w[p + "attn.c_attn.bias"] = torch.randn(3 * d, generator=gen) * std
        w[p + "attn.c_proj.weight"] = torch.randn(d, d, generator=gen) * std
        w[p + "attn.c_proj.bias"] = torch.randn(d, generator=gen) * std
        w[p + "ln_2.weight"] = 1 + 0.1 * torch.randn(d, generator=gen)
        w[p + "ln_2.bias"] = 0.1 * torch.randn(d, generator=gen)
        w[p + "mlp.c_fc.weight"] = torch.randn(d, 4 * d, generator=gen) * std
        w[p + "mlp.c_fc.bias"] = torch.randn(4 * d, generator=gen) * std
        w[p + "mlp.c_proj.weight"] = torch.randn(4 * d, d, generator=gen) * std
        w[p + "mlp.c_proj.bias"] = torch.randn(d, generator=gen) * std
    w[prefix + "ln_f.weight"] = 1 + 0.1 * torch.randn(d, generator=gen)
    w[prefix + "ln_f.bias"] = 0.1 * torch.randn(d, generator=gen)
    return w


SEQUENCES = [[1, 17, 5, 42, 9, 33, 2, 60, 11, 7, 25, 48], [3, 8, 71, 14, 56, 20]]
GREEDY_PROMPT, GREEDY_TOKENS = [1, 17, 5, 42, 9], 10


def golden(forward):
    out = {"sequences": SEQUENCES, "log_probs": []}
    for seq in SEQUENCES:
        out["log_probs"].append([[round(x, 6) for x in row] for row in torch.log_softmax(forward(seq), dim=-1).tolist()])
    seq = list(GREEDY_PROMPT)
    for _ in range(GREEDY_TOKENS):
        seq.append(int(forward(seq)[-1].argmax()))
    out["greedy_prompt"], out["greedy"] = GREEDY_PROMPT, seq[len(GREEDY_PROMPT):]
    return out


def save(root, name, cfg, weights, dtype, forward, shards=1, tokenizer=None):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    stored = {k: (t.to(dtype) if t.is_floating_point() and not k.endswith("attn.bias") else t) for k, t in weights.items()}
    cfg = dict(cfg, torch_dtype={torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype])
    reference = {k: t.float() for k, t in stored.items()}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": cfg.get("bos_token_id"), "eos_token_id": cfg.get("eos_token_id")}, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), stored, {"format": "pt"})
    else:
        names = list(stored)
        per = math.ceil(len(names) / shards)
        weight_map, total = {}, 0
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: stored[k] for k in names[s * per:(s + 1) * per]}
            write_safetensors(os.path.join(d, file), part, {"format": "pt"})
            for k, t in part.items():
                weight_map[k] = file
                total += t.numel() * t.element_size()
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    if tokenizer:   # a real tokenizer's files copied in: a model directory the whole pipeline runs on
        for f in ("tokenizer.json", "tokenizer_config.json"):
            with open(os.path.join(tokenizer, f), "rb") as src, open(os.path.join(d, f), "wb") as dst:
                dst.write(src.read())
    if forward is not None:
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump(golden(lambda ids: forward(cfg, reference, ids)), f)


def main(root):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261206)
    std = 0.35
    base = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=64, bos_token_id=1, eos_token_id=2, hidden_act="silu")
    llama = dict(base, architectures=["LlamaForCausalLM"], model_type="llama", num_key_value_heads=2,
                 rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False,
                 mlp_bias=False)
    save(root, "llama", llama, llama_weights(llama, gen, std, False, False), torch.float32, llama_forward)
    llama3 = dict(llama, num_key_value_heads=1, rope_theta=500000.0, tie_word_embeddings=True,
                  rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                    original_max_position_embeddings=8), eos_token_id=[2, 3])
    save(root, "llama3-bf16", llama3, llama_weights(llama3, gen, std, True, False), torch.bfloat16, llama_forward)
    qwen2 = dict(base, architectures=["Qwen2ForCausalLM"], model_type="qwen2", num_key_value_heads=1,
                 rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False)
    save(root, "qwen2-f16", qwen2, llama_weights(qwen2, gen, std, True, True), torch.float16, llama_forward)
    mistral = dict(base, architectures=["MistralForCausalLM"], model_type="mistral", num_key_value_heads=2,
                   rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, sliding_window=None)
    save(root, "mistral-sharded", mistral, llama_weights(mistral, gen, std, False, False), torch.float32,
         llama_forward, shards=2)
    gpt2 = dict(architectures=["GPT2LMHeadModel"], model_type="gpt2", vocab_size=96, n_embd=32, n_layer=2, n_head=4,
                n_positions=32, n_ctx=32, layer_norm_epsilon=1e-5, activation_function="gelu_new", bos_token_id=1,
                eos_token_id=2, tie_word_embeddings=True)
    save(root, "gpt2", gpt2, gpt2_weights(gpt2, gen, std, ""), torch.float32,
         lambda c, w, ids: gpt2_forward(c, w, ids, ""))
    save(root, "gpt2-prefixed", gpt2, gpt2_weights(gpt2, gen, std, "transformer."), torch.float32,
         lambda c, w, ids: gpt2_forward(c, w, ids, "transformer."))
    # conf/experiments/hf-smoke.conf's base: GPT-2's real 50,257-token BPE on a tiny random model (bf16, tied head)
    smoke = dict(gpt2, vocab_size=50257, n_embd=8, n_layer=2, n_head=2, n_inner=32, n_positions=256, n_ctx=256,
                 bos_token_id=50256, eos_token_id=50256)
    tokenizer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "tokenizers", "gpt2")
    save(root, "gpt2-bpe-smoke", smoke, gpt2_weights(smoke, gen, std, "", buffers=False), torch.bfloat16, None, tokenizer=tokenizer)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/hf")
