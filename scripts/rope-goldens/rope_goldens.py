#!/usr/bin/python3
"""Reference RoPE tables for RopeScalingTest.

Re-implements, with numpy, the formulas of Hugging Face transformers' modeling_rope_utils.py (linear, dynamic,
yarn, llama3, longrope) keeping float32 where transformers computes in float32 (torch int64 arange cast to
float32, python-float scalars folded into float32 tensor ops), plus two methods transformers lacks:
  ntk      static NTK-aware: base' = base * factor^(d/(d-2))
  elastic  S = max(1, gamma*(l/L)^k), base' = base * S^(d/(d-2)), temperature 1 + 0.1*ln(l/L) for l > L else 1
Run: /usr/bin/python3 scripts/rope-goldens/rope_goldens.py > java/longbow-core/src/test/resources/rope/goldens.json
"""
import json
import math

import numpy as np

F32 = np.float32


def exponents(dim):
    # torch.arange(0, dim, 2, dtype=int64).float() / dim, in float32
    return np.arange(0, dim, 2, dtype=np.int64).astype(F32) / F32(dim)


def default_inv_freq(dim, base):
    return (F32(1.0) / (F32(base) ** exponents(dim))).astype(F32)


def linear(dim, base, factor):
    return default_inv_freq(dim, base) / F32(factor), 1.0


def ntk(dim, base, factor):
    return default_inv_freq(dim, base * factor ** (dim / (dim - 2))), 1.0


def dynamic(dim, base, factor, max_pos, seq_len):
    seq_len = max(seq_len, max_pos) if seq_len else max_pos
    grown = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
    return default_inv_freq(dim, grown), 1.0


def yarn(dim, base, factor, original, beta_fast=None, beta_slow=None, attention_factor=None, mscale=None,
         mscale_all_dim=None, truncate=True):
    def get_mscale(scale, m=1):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = get_mscale(factor)
    beta_fast = beta_fast or 32
    beta_slow = beta_slow or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    pos_freqs = F32(base) ** exponents(dim)
    extrapolation = F32(1.0) / pos_freqs
    interpolation = F32(1.0) / (F32(factor) * pos_freqs)
    ramp = np.clip((np.arange(dim // 2, dtype=F32) - F32(low)) / F32(high - low), F32(0), F32(1)).astype(F32)
    keep = F32(1) - ramp
    inv = interpolation * (F32(1) - keep) + extrapolation * keep
    return inv.astype(F32), attention_factor


def llama3(dim, base, factor, low_freq_factor, high_freq_factor, original):
    inv = default_inv_freq(dim, base)
    low_wavelen = original / low_freq_factor
    high_wavelen = original / high_freq_factor
    wavelen = F32(2 * math.pi) / inv
    scaled = np.where(wavelen > low_wavelen, inv / F32(factor), inv).astype(F32)
    smooth = ((F32(original) / wavelen - F32(low_freq_factor)) / F32(high_freq_factor - low_freq_factor)).astype(F32)
    smoothed = (F32(1) - smooth) * scaled / F32(factor) + smooth * scaled
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, scaled).astype(F32), 1.0


def longrope(dim, base, short_factor, long_factor, original, max_pos, seq_len, factor=None, attention_factor=None):
    if factor is None:
        factor = max_pos / original
    if attention_factor is None:
        attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
    ext = np.array(long_factor if seq_len and seq_len > original else short_factor, dtype=F32)
    inv = F32(1.0) / (ext * (F32(base) ** exponents(dim)))
    return inv.astype(F32), attention_factor


def elastic(dim, base, trained, seq_len, gamma=0.5, k=0.7):
    ratio = seq_len / trained if seq_len else 1.0
    s = max(1.0, gamma * ratio ** k)
    temperature = 1 + 0.1 * math.log(ratio) if ratio > 1 else 1.0
    return default_inv_freq(dim, base * s ** (dim / (dim - 2))), 1.0, temperature


def phi3_like(n, seed, lo, hi):
    r = np.random.RandomState(seed)
    return [round(float(x), 4) for x in np.sort(r.uniform(lo, hi, n))]


CASES = []


def case(method, dim, base, seq_len=0, **p):
    CASES.append(dict(method=method, head_dim=dim, base=base, seq_len=seq_len, **p))


case("none", 64, 10000.0)
case("none", 128, 500000.0)
case("linear", 64, 10000.0, factor=2.0)
case("linear", 128, 500000.0, factor=8.0)
case("ntk", 64, 10000.0, factor=4.0)
case("ntk", 128, 500000.0, factor=32.0)
for s in (1024, 2048, 8192, 32768):
    case("dynamic", 128, 10000.0, seq_len=s, factor=4.0, original_ctx=2048)
case("dynamic", 64, 500000.0, seq_len=20000, factor=2.0, original_ctx=4096)
case("yarn", 128, 10000.0, factor=4.0, original_ctx=4096)
case("yarn", 64, 500000.0, factor=32.0, original_ctx=8192, beta_fast=16.0, beta_slow=2.0)
case("yarn", 128, 10000.0, factor=8.0, original_ctx=2048, mscale=1.0, mscale_all_dim=0.707)
case("yarn", 128, 1000000.0, factor=4.0, original_ctx=32768, truncate=False)
case("llama3", 128, 500000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_ctx=8192)
case("llama3", 64, 10000.0, factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0, original_ctx=2048)
SHORT64, LONG64 = phi3_like(32, 1, 1.0, 1.2), phi3_like(32, 2, 1.0, 40.0)
for s in (2048, 4096, 4097, 131072):
    case("longrope", 64, 10000.0, seq_len=s, original_ctx=4096, ctx=131072, short_factor=SHORT64, long_factor=LONG64)
case("longrope", 128, 10000.0, seq_len=9000, original_ctx=8192, ctx=32768, factor=2.0,
     short_factor=phi3_like(64, 3, 1.0, 1.1), long_factor=phi3_like(64, 4, 1.0, 16.0))
for s in (1024, 4096, 8192, 11000, 16384, 65536):
    case("elastic", 128, 10000.0, seq_len=s, original_ctx=4096)
case("elastic", 64, 500000.0, seq_len=100000, original_ctx=8192, elastic_gamma=0.6, elastic_k=0.8)


def compute(c):
    m, d, b, s = c["method"], c["head_dim"], c["base"], c["seq_len"]
    temperature = 1.0
    if m == "none":
        inv, att = default_inv_freq(d, b), 1.0
    elif m == "linear":
        inv, att = linear(d, b, c["factor"])
    elif m == "ntk":
        inv, att = ntk(d, b, c["factor"])
    elif m == "dynamic":
        inv, att = dynamic(d, b, c["factor"], c["original_ctx"], s)
    elif m == "yarn":
        inv, att = yarn(d, b, c["factor"], c["original_ctx"], c.get("beta_fast"), c.get("beta_slow"), None,
                        c.get("mscale"), c.get("mscale_all_dim"), c.get("truncate", True))
    elif m == "llama3":
        inv, att = llama3(d, b, c["factor"], c["low_freq_factor"], c["high_freq_factor"], c["original_ctx"])
    elif m == "longrope":
        inv, att = longrope(d, b, c["short_factor"], c["long_factor"], c["original_ctx"], c["ctx"], s, c.get("factor"))
    elif m == "elastic":
        inv, att, temperature = elastic(d, b, c["original_ctx"], s, c.get("elastic_gamma", 0.5), c.get("elastic_k", 0.7))
    out = dict(c)
    out["inv_freq"] = [float(x) for x in inv]
    out["attention_factor"] = float(att)
    out["attention_temperature"] = float(temperature)
    return out


if __name__ == "__main__":
    print("[")
    print(",\n".join(json.dumps(compute(c), separators=(",", ":")) for c in CASES))
    print("]")
