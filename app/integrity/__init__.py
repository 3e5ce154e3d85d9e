"""Study integrity (issue 21): provenance of critiques, similarity to the model's critiques,
flags, exclusions."""
