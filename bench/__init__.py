"""Benchmarks (`make bench`): each module measures curate against a baseline in the same run."""
