"""What the CPU can do, for the one line printed when the engine fails on this machine."""

import platform
from pathlib import Path

# The features llama.cpp picks kernels and buffer types by.
_INTERESTING = (
    "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
    "avx_vnni", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "sve", "sve2", "i8mm",
)  # fmt: skip


def cpu_summary() -> str:
    """`model name; features: ...` from /proc/cpuinfo (or the platform's name elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model, flags = platform.machine(), set[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model") and model == platform.machine():
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    found = [f for f in _INTERESTING if f in flags]
    return f"{model}; features: {' '.join(found) or 'none of note'}"
