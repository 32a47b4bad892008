"""Zero the GPU code of the architectures a target GPU cannot run, so the CUDA provider library
compresses to a third and reaches the GPU machine in fewer pieces (the transfer limit is
64 MiB a call).

onnxruntime's CUDA provider (libonnxruntime_providers_cuda.so, 230 MB) carries, in its
.nv_fatbin section, one ELF cubin per kernel module for each of sm_75, 80, 86, 89, 90 and 120,
and no PTX. A cubin runs only on its own major architecture, so an H100/H200 (sm_90) only ever
loads the sm_90 entries. This keeps the file's layout byte for byte (the same offsets, so the
ELF and the fatbin headers stay valid) and overwrites the payloads of the other architectures'
entries with zeros. A fatbin with no entry for the kept architecture is left whole.

  python3 fatbin_prune.py --keep 90 IN.so OUT.so   -> prints a JSON summary
"""
import argparse
import json
import struct
import subprocess

FATBIN_MAGIC = 0xBA55ED50
ENTRY_ELF, ENTRY_PTX = 2, 1


def section(path, name):
    """(file offset, size) of an ELF section, from readelf."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if name in parts:
            i = parts.index(name)
            return int(parts[i + 3], 16), int(parts[i + 4], 16)
    raise SystemExit(f"{path}: no {name} section")


def entries(data, start, end):
    """Yields (fatbin offset, [(entry offset, header size, payload size, kind, arch)])."""
    p = start
    while p + 16 <= end:
        magic, _version, header, size = struct.unpack_from("<IHHQ", data, p)
        if magic != FATBIN_MAGIC:
            p += 8  # fatbins are 8-byte aligned inside the section
            continue
        q, stop, found = p + header, p + header + size, []
        while q < stop:
            kind, _v, entry_header, payload = struct.unpack_from("<HHIQ", data, q)
            arch = struct.unpack_from("<I", data, q + 28)[0]
            found.append((q, entry_header, payload, kind, arch))
            q += entry_header + payload
        yield p, found
        p = stop


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--keep", type=int, required=True, help="SM architecture to keep, e.g. 90")
    ap.add_argument("src")
    ap.add_argument("dst")
    args = ap.parse_args()
    data = bytearray(open(args.src, "rb").read())
    offset, size = section(args.src, ".nv_fatbin")
    fatbins = kept = zeroed_entries = zeroed_bytes = untouched = 0
    for _, found in entries(data, offset, offset + size):
        fatbins += 1
        if not any(kind == ENTRY_ELF and arch == args.keep for _, _, _, kind, arch in found):
            untouched += 1
            continue
        for q, header, payload, kind, arch in found:
            if kind == ENTRY_ELF and arch == args.keep:
                kept += 1
            else:
                data[q + header:q + header + payload] = bytes(payload)
                zeroed_entries += 1
                zeroed_bytes += payload
    open(args.dst, "wb").write(data)
    print(json.dumps({"fatbins": fatbins, "kept_sm": args.keep, "kept_entries": kept,
                      "zeroed_entries": zeroed_entries, "zeroed_bytes": zeroed_bytes,
                      "fatbins_without_kept_arch": untouched}))


if __name__ == "__main__":
    main()
