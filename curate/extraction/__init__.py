"""HTML extraction helpers for the extract stage: line features and the shipped line classifier."""
