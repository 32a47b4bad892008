"""Which BLAS torch actually loaded, read at run time.

Debian's python3-torch links `libblas.so.3`, whichever alternative is installed:
`torch.__config__.show()` says BLAS_INFO=generic for all of them because it describes the
build, not the library. The reference BLAS runs a 1024² matmul ~40x slower than OpenBLAS,
so every log and benchmark names the library from /proc/self/maps and says loudly when it is
the reference one.
"""
import os
import re

import torch

_KNOWN = (("openblas", "OpenBLAS"), ("mkl", "MKL"), ("blis", "BLIS"), ("atlas", "ATLAS"))


def loaded_blas() -> dict:
    """{"name", "path", "reference", "threads"} of the BLAS mapped into this process."""
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS has been loaded
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1] if "/" in line else ""
                if re.search(r"lib(open)?blas|libmkl|libblis|libatlas", os.path.basename(p)):
                    paths.add(os.path.realpath(p))
    except OSError:  # not Linux: name what we cannot see
        return {"name": "unknown", "path": None, "reference": False, "threads": torch.get_num_threads()}
    name, path = "none", None
    for p in sorted(paths):
        low = p.lower()
        hit = next((n for key, n in _KNOWN if key in low), None)
        if hit:
            name, path = hit, p
            break
        if "libblas" in os.path.basename(low):
            name, path = "reference", p
    if path is None and paths:  # e.g. an MKL-built torch wheel: the BLAS is inside libtorch
        path = sorted(paths)[0]
    if not paths and "mkl" in torch.__config__.show().lower():
        name = "MKL (in libtorch)"
    return {"name": name, "path": path, "reference": name == "reference", "threads": torch.get_num_threads()}


def blas_line() -> str:
    """One log line; a loud warning when torch runs on the reference BLAS."""
    b = loaded_blas()
    line = f"torch {torch.__version__} BLAS: {b['name']} ({b['path'] or 'no separate library'}), {b['threads']} threads"
    if b["reference"]:
        line += ("\n" + "!" * 78 + "\nWARNING: torch is running on the REFERENCE BLAS (~40x slower matmuls). "
                 "Install libopenblas0-pthread.\n" + "!" * 78)
    return line


if __name__ == "__main__":
    print(blas_line())
