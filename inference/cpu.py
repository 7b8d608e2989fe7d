"""What the CPU can do natively, for choosing numerics in training and serving."""

from __future__ import annotations

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
