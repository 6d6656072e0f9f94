"""HTML extraction helpers for the extract stage: line features and the shipped line classifier."""

RENDER_CHOICES = {"post_meta": False, "alt_texts": False, "noscript": False}  # every resiliparse rendering curate makes
