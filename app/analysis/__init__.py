"""The report: the paper's measurements recomputed from an export, with passage-level bootstrap."""
