"""What the CPU can do natively, for choosing numerics in training and serving."""

from __future__ import annotations

import os
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_has_native_bfloat16(cpuinfo: Path = CPUINFO) -> bool | None:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX); None where it cannot tell (not Linux)."""
    if not cpuinfo.exists():
        return None
    flags = set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_description(cpuinfo: Path = CPUINFO) -> str:
    """The CPU as benchmarks name it beside their figures: model, cores, AVX-512 and AMX flags, load."""
    if not cpuinfo.exists():
        return f"unknown CPU, {os.cpu_count()} cores"
    model, flags = "unknown CPU", set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("model name") and model == "unknown CPU":
            model = line.partition(":")[2].strip()
        elif line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    wide = sorted(flag for flag in flags if flag.startswith(("avx512", "amx")))
    load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"{model}, {os.cpu_count()} cores, {' '.join(wide) or 'no AVX-512'}{load}"
