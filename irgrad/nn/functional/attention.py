"""Attention: scaled_dot_product_attention and multi_head_attention_forward (PyTorch's math).

Both are compositions of matmul, softmax and masking, so they fuse and differentiate like any
other graph. Boolean masks follow PyTorch's two conventions: for scaled_dot_product_attention
True means "may attend"; for multi-head attention masks True means "masked out".
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import fail
from ._ops import op
from .linear import linear, pad
from .sparse import dropout

_causal_cache: dict = {}


def _causal_mask(L: int, S: int, device):
    """Bool (L, S) lower-triangular mask (True: may attend), built once per size."""
    key = (L, S, str(device))
    m = _causal_cache.get(key)
    if m is None:
        import irgrad
        m = irgrad.tensor(np.tril(np.ones((L, S), dtype=bool)), device=device)
        if len(_causal_cache) > 64:
            _causal_cache.clear()
        _causal_cache[key] = m
    return m


def _repeat_heads(x, times: int):
    """repeat_interleave over dim -3 (grouped-query attention)."""
    shape = tuple(x.shape)
    x = x.unsqueeze(-3).expand(shape[:-3] + (shape[-3], times) + shape[-2:])
    return x.reshape(shape[:-3] + (shape[-3] * times,) + shape[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        fail(RuntimeError, "scaled_dot_product_attention: query, key and value must have at "
                           "least 2 dimensions")
    if query.shape[-1] != key.shape[-1]:
        fail(RuntimeError, f"scaled_dot_product_attention: query and key must have the same "
                           f"embedding size, got {query.shape[-1]} and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        fail(RuntimeError, f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length, got {key.shape[-2]} and {value.shape[-2]}")
    if is_causal and attn_mask is not None:
        fail(RuntimeError, "_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        key = _repeat_heads(key, query.shape[-3] // key.shape[-3])
        value = _repeat_heads(value, query.shape[-3] // value.shape[-3])
    scores = op("matmul")(query, key.transpose(-2, -1)) * scale
    where = op("where")
    if is_causal:
        scores = where(_causal_mask(L, S, query.device), scores, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = op("softmax")(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return op("matmul")(weights, value)


def _float_mask(mask, dtype, name):
    """MHA's canonical mask: bool (True = masked) -> 0 / -inf of `dtype`; float kept."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        return op("where")(mask, float("-inf"), 0.0).to(dtype)
    if not mask.dtype.is_floating_point:
        fail(AssertionError, f"only bool and floating types of {name} are supported")
    return mask


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, E, use_separate,
                   q_w, k_w, v_w):
    if not use_separate:
        if in_proj_weight is None:
            fail(AssertionError, "use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:
            qkv = linear(query, in_proj_weight, in_proj_bias)
            return qkv.split(E, -1)
        w = in_proj_weight.split(E, 0)
        b = in_proj_bias.split(E, 0) if in_proj_bias is not None else (None,) * 3
        return linear(query, w[0], b[0]), linear(key, w[1], b[1]), linear(value, w[2], b[2])
    b = in_proj_bias.split(E, 0) if in_proj_bias is not None else (None,) * 3
    return linear(query, q_w, b[0]), linear(key, k_w, b[1]), linear(value, v_w, b[2])


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """PyTorch's F.multi_head_attention_forward: inputs are (L, N, E) or unbatched (L, E)."""
    batched = query.dim() == 3
    if query.dim() not in (2, 3):
        fail(AssertionError, f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        fail(AssertionError, f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        fail(AssertionError, f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if is_causal and attn_mask is None:
        fail(RuntimeError, "Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if static_k is not None or static_v is not None:
        fail(NotImplementedError, "static_k/static_v are not supported")
    dtype = query.dtype
    key_padding_mask = _float_mask(key_padding_mask, dtype, "key_padding_mask")
    attn_mask = _float_mask(attn_mask, dtype, "attn_mask")

    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, embed_dim,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight)
    if attn_mask is not None:
        src_len = key.shape[0]
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                fail(RuntimeError, f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                fail(RuntimeError, f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            fail(RuntimeError, f"attn_mask's dimension {attn_mask.dim()} is not supported")
    cat = op("cat")
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.reshape((1, 1, embed_dim)).expand((1, bsz, embed_dim))], 0)
        v = cat([v, bias_v.reshape((1, 1, embed_dim)).expand((1, bsz, embed_dim))], 0)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    # (L, N, E) -> (N * H, L, head_dim)
    q = q.reshape((tgt_len, bsz * num_heads, head_dim)).transpose(0, 1)
    k = k.reshape((k.shape[0], bsz * num_heads, head_dim)).transpose(0, 1)
    v = v.reshape((v.shape[0], bsz * num_heads, head_dim)).transpose(0, 1)
    if add_zero_attn:
        zeros = op("zeros")((bsz * num_heads, 1, head_dim), dtype=q.dtype, device=q.device)
        k, v = cat([k, zeros], 1), cat([v, zeros], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            fail(AssertionError, f"expecting key_padding_mask shape of {(bsz, src_len)}, but "
                                 f"got {key_padding_mask.shape}")
        kpm = key_padding_mask.reshape((bsz, 1, 1, src_len)).expand(
            (bsz, num_heads, 1, src_len)).reshape((bsz * num_heads, 1, src_len))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    matmul = op("matmul")
    scores = matmul(q * (1.0 / math.sqrt(head_dim)), k.transpose(-2, -1))
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = op("softmax")(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    out = matmul(weights, v)  # (N * H, L, head_dim)
    out = out.transpose(0, 1).reshape((tgt_len * bsz, embed_dim))
    out = linear(out, out_proj_weight, out_proj_bias).reshape((tgt_len, bsz, embed_dim))
    if not need_weights:
        return (out if batched else out.squeeze(1)), None
    weights = weights.reshape((bsz, num_heads, tgt_len, src_len))
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        return out.squeeze(1), weights.squeeze(0)
    return out, weights


__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]
