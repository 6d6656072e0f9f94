"""Readers (raw dumps -> documents) and writers (documents -> Parquet), kept apart from stages."""
