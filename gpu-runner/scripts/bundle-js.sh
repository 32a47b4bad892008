#!/usr/bin/env bash
# Compiles runner entry points to single ES modules with esbuild: what the GPU image runs and
# what the GPU check ships, built the same way (no tsx at run time). onnxruntime-node stays a
# package: it loads its native binding and providers from its own folder.
#   gpu-runner/scripts/bundle-js.sh OUT_DIR path/to/entry.ts:name [...]   (from the repo root)
set -euo pipefail
out=$1
shift
mkdir -p "$out"
for entry in "$@"; do
  node_modules/.bin/esbuild "${entry%%:*}" --bundle --platform=node --format=esm --target=node22 \
    --external:onnxruntime-node --log-level=warning --outfile="$out/${entry##*:}.mjs" \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
done
