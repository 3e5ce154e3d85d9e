"""Helpfulness judgements: the paper's training data, collected in the app."""
