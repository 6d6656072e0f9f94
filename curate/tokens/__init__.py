"""Tokens: tiktoken encodings loaded offline, BPE training (rustbpe), and the token-shard format.

A trainer needs only `curate.tokens.shards` (numpy, no other part of curate).
"""
