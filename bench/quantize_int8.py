"""int8 dynamic quantization of a bundle's UNets (onnxruntime.quantization), for the CPU-path
experiment of bench/session_options.ts: writes <out>/<stage>.int8.onnx next to nothing in the
bundle (the bundle stays fp32). Needs the onnxruntime Python package (not Debian's python3).

    python3 bench/quantize_int8.py models/emoji-gpu /tmp/int8
"""
import os
import sys

from onnxruntime.quantization import QuantType, quantize_dynamic


def main():
    bundle, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in ("decoder", "upsampler_64", "prior"):
        src = os.path.join(bundle, f"{name}.onnx")
        if not os.path.exists(src):
            continue
        dst = os.path.join(out, f"{name}.int8.onnx")
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        print(f"{src} ({os.path.getsize(src) / 1e6:.1f} MB) -> {dst} ({os.path.getsize(dst) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
