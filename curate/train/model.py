"""A small GPT in the nanoGPT mould: learned positions, pre-norm blocks, causal SDPA, tied output embedding."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Sizes by name. `tiny` trains on a laptop CPU; `small` and `medium` are GPT-2 small / medium for GPUs.
PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 4, "d_model": 128, "n_head": 4, "context": 256},
    "small": {"n_layer": 12, "d_model": 768, "n_head": 12, "context": 1024},
    "medium": {"n_layer": 24, "d_model": 1024, "n_head": 16, "context": 1024},
}


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    context: int
    n_layer: int
    n_head: int
    d_model: int

    @classmethod
    def from_preset(cls, preset: str, vocab_size: int, **overrides: int) -> "GPTConfig":
        if preset not in PRESETS:
            raise ValueError(f"unknown model preset {preset!r}; choose one of {', '.join(PRESETS)}")
        return cls(vocab_size=vocab_size, **{**PRESETS[preset], **overrides})

    @property
    def padded_vocab_size(self) -> int:
        """Embedding rows rounded up to a multiple of 64, which keeps GPU matmuls on fast shapes."""
        return -(-self.vocab_size // 64) * 64


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.d_model % config.n_head:
            raise ValueError(f"d_model {config.d_model} is not divisible by n_head {config.n_head}")
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.n_head, width // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).contiguous().view(batch, length, width))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.d_model, 4 * config.d_model, bias=False)
        self.proj = nn.Linear(4 * config.d_model, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.up(x)))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(config.d_model, bias=False)
        self.attn = CausalSelfAttention(config)
        self.norm_mlp = nn.LayerNorm(config.d_model, bias=False)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm_attn(x))
        return x + self.mlp(self.norm_mlp(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.padded_vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.context, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm_out = nn.LayerNorm(config.d_model, bias=False)
        self.apply(self._init_weights)
        # GPT-2: scale the projections that write into the residual stream by depth, so it does not grow with it.
        for name, parameter in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (batch, length) -> logits (batch, length, padded vocabulary); the output layer is the embedding."""
        length = idx.shape[1]
        if length > self.config.context:
            raise ValueError(f"sequence of {length} tokens is longer than the model's context {self.config.context}")
        positions = torch.arange(length, device=idx.device)
        x = self.token_embedding(idx) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x)
        return F.linear(self.norm_out(x), self.token_embedding.weight)
