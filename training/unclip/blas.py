"""Which BLAS torch actually loaded, read at run time.

Debian's python3-torch links `libblas.so.3`, whichever alternative is installed:
`torch.__config__.show()` says BLAS_INFO=generic for all of them because it describes the
build, not the library. The reference BLAS runs a 1024² matmul ~40x slower than OpenBLAS,
so every log and benchmark names the library from /proc/self/maps and says loudly when it is
the reference one.
"""
import ctypes
import os
import re

import torch

_KNOWN = (("openblas", "OpenBLAS"), ("mkl", "MKL"), ("blis", "BLIS"), ("atlas", "ATLAS"))


def _own_threads(path):
    """The BLAS library's own thread count (OpenBLAS and BLIS keep one apart from torch's), or None."""
    if not path:
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for symbol in ("openblas_get_num_threads", "bli_thread_get_num_threads", "MKL_Get_Max_Threads"):
        if hasattr(lib, symbol):
            return int(getattr(lib, symbol)())
    return None


def loaded_blas() -> dict:
    """{"name", "path", "reference", "threads", "blas_threads"} of the BLAS mapped into this process:
    threads is torch's intra-op count, blas_threads the library's own (None if it has none)."""
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
    return {"name": name, "path": path, "reference": name == "reference", "threads": torch.get_num_threads(),
            "blas_threads": _own_threads(path)}


def blas_line() -> str:
    """One log line; a loud warning when torch runs on the reference BLAS."""
    b = loaded_blas()
    own = "" if b.get("blas_threads") is None else f", the BLAS's own {b['blas_threads']}"
    line = (f"torch {torch.__version__} BLAS: {b['name']} ({b['path'] or 'no separate library'}), "
            f"{b['threads']} threads{own}")
    if b["reference"]:
        line += ("\n" + "!" * 78 + "\nWARNING: torch is running on the REFERENCE BLAS (~40x slower matmuls). "
                 "Install libopenblas0-pthread.\n" + "!" * 78)
    return line


if __name__ == "__main__":
    print(blas_line())
