"""Reports of a run: report.html and the terminal summary."""
