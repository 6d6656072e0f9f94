"""curate: turn raw web dumps into pretraining data and measure what each step did."""

__version__ = "0.1.0"
