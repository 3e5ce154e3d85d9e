"""Side-by-side benchmarks against peer annotation tools (see bench/peers/README.md)."""
