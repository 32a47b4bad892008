#!/usr/bin/env bash
# Packs, HERE (the development machine, which reaches npm and Debian), everything the GPU check
# needs on a GPU machine that has no Node.js and no network, into pieces that fit the device
# tool's transfer limit (64 MiB a call, working tree included):
#
#   .gpu-pack/chunks/unclip-gpu.tar.zst.NN   the pieces (zstd -19, split at PIECE_MIB)
#   .gpu-pack/tools/                         zstd (the GPU image may lack it), libvulkan1 .deb
#                                            (for the WebGPU try), SHA256SUMS of the pieces
#
# The archive holds unclip-gpu/: bin/node (Node 22 from node_modules' `node` package, stripped),
# app/*.mjs (the runner and the check scripts bundled by esbuild), app/node_modules/
# onnxruntime-node (linux/x64 only) + onnxruntime-common, the CUDA 13 provider beside the core
# library (versions: gpu-runner/gpu-versions.env, the ones the GPU image ships), the bundle, and
# pack.json (versions, commit, checked facts).
#
# By default the provider keeps only sm_90 GPU code (H100/H200; see fatbin_prune.py): 39 MB
# compressed instead of 164 MB. KEEP_SM=all packs it whole (3 more pieces).
#
# The runner and check scripts (app/*.mjs, built from this checkout) go separately into
# .gpu-pack/tools/app.tar.gz (1 MB), so a change to them needs `gpu-pack.sh app` (seconds), not
# a new 8-minute compression of the pieces.
#
#   bash gpu-runner/scripts/gpu-pack.sh        # all; env: BUNDLE=models/emoji-gpu KEEP_SM=90 PIECE_MIB=60
#   bash gpu-runner/scripts/gpu-pack.sh app    # only .gpu-pack/tools/app.tar.gz
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PACK=.gpu-pack

pack_app() {
  # The JavaScript, bundled (only onnxruntime-node stays a package: it loads its native binding
  # from its own folder).
  local app=$PACK/app-stage/unclip-gpu/app
  rm -rf "$PACK/app-stage" && mkdir -p "$app" "$PACK/tools"
  # The same build as the GPU image's runner (bundle-js.sh).
  bash gpu-runner/scripts/bundle-js.sh "$app" gpu-runner/src/main.ts:runner \
    gpu-runner/scripts/provider-check.ts:provider-check gpu-runner/scripts/http-bench.ts:http-bench \
    gpu-runner/scripts/gpu-report.ts:gpu-report
  echo "{\"commit\": \"$(git rev-parse HEAD)\", \"dirty\": $([ -z "$(git status --porcelain -- gpu-runner shared)" ] && echo false || echo true), \"built_at\": \"$(date -u +%FT%TZ)\"}" >"$app/app.json"
  tar -C "$PACK/app-stage" -czf "$PACK/tools/app.tar.gz" unclip-gpu
  echo "app: $(stat -c %s "$PACK/tools/app.tar.gz") bytes, $(cat "$app/app.json")"
  rm -rf "$PACK/app-stage"
}
if [ "${1:-}" = app ]; then pack_app; exit 0; fi
BUNDLE=${BUNDLE:-models/emoji-gpu}
KEEP_SM=${KEEP_SM:-90}
PIECE_MIB=${PIECE_MIB:-60}
STAGE=$PACK/stage/unclip-gpu
# ORT_VERSION, CUDA_PROVIDER_PACKAGE, CUDA_PROVIDER_VERSION: the pair the GPU image ships too.
. gpu-runner/gpu-versions.env
PROVIDER_PKG=$CUDA_PROVIDER_PACKAGE@$CUDA_PROVIDER_VERSION

command -v zstd >/dev/null || { echo "zstd is missing: apt-get install -y zstd" >&2; exit 1; }
[ -f "$BUNDLE/manifest.json" ] || { echo "no bundle at $BUNDLE" >&2; exit 1; }
mkdir -p "$PACK/npm" "$PACK/tools" "$PACK/chunks"

# 1. The npm tarballs (into the ignored folder: nothing enters package-lock.json).
for spec in "$PROVIDER_PKG" "onnxruntime-node@$ORT_VERSION" "onnxruntime-common@$ORT_VERSION"; do
  name=${spec%@*}; version=${spec##*@}
  [ -f "$PACK/npm/$name-$version.tgz" ] || (cd "$PACK/npm" && npm pack --silent "$spec" >/dev/null)
done
[ -n "$(ls "$PACK"/tools/libvulkan1_*.deb 2>/dev/null)" ] || (cd "$PACK/tools" && apt-get download libvulkan1 2>/dev/null)
cp "$(command -v zstd)" "$PACK/tools/zstd"

# 2. Unpack what we need into the stage.
rm -rf "$PACK/stage" "$PACK/x" && mkdir -p "$STAGE"/{bin,app/node_modules} "$PACK/x"
tar -xzf "$PACK/npm/$CUDA_PROVIDER_PACKAGE-$CUDA_PROVIDER_VERSION.tgz" -C "$PACK/x" package/Plugins/Linux/x64
mkdir -p "$PACK/x/ort" "$STAGE/app/node_modules/onnxruntime-common"
tar -xzf "$PACK/npm/onnxruntime-node-$ORT_VERSION.tgz" -C "$PACK/x/ort" \
  package/package.json package/dist package/bin/napi-v6/linux/x64
mv "$PACK/x/ort/package" "$STAGE/app/node_modules/onnxruntime-node"
tar -xzf "$PACK/npm/onnxruntime-common-$ORT_VERSION.tgz" --strip-components=1 \
  -C "$STAGE/app/node_modules/onnxruntime-common"
PLUGINS=$PACK/x/package/Plugins/Linux/x64
ORT_LIB=$STAGE/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64

# 3. Check the facts the GPU run depends on, before spending device time on them.
needed=$(readelf -d "$PLUGINS/libonnxruntime_providers_cuda.so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
for lib in libcublasLt.so.13 libcublas.so.13 libcudart.so.13 libcurand.so.10; do
  [[ " $needed" == *" $lib "* ]] || { echo "provider does not link $lib (links: $needed)" >&2; exit 1; }
done
for f in "$PLUGINS/libonnxruntime_providers_cuda.so" "$ORT_LIB/libonnxruntime.so.1"; do
  strings -n 6 "$f" | grep -x "$ORT_VERSION" >/dev/null || { echo "$f: no version string $ORT_VERSION" >&2; exit 1; }
done
grep -q '"version": "'"$ORT_VERSION"'"' "$STAGE/app/node_modules/onnxruntime-node/package.json"

# 4. The provider beside the core library (where onnxruntime looks for it).
cp "$PLUGINS/libonnxruntime_providers_shared.so" "$ORT_LIB/"
if [ "$KEEP_SM" = all ]; then
  cp "$PLUGINS/libonnxruntime_providers_cuda.so" "$ORT_LIB/"
  prune='{"kept_sm":"all"}'
else
  prune=$(python3 gpu-runner/scripts/fatbin_prune.py --keep "$KEEP_SM" \
    "$PLUGINS/libonnxruntime_providers_cuda.so" "$ORT_LIB/libonnxruntime_providers_cuda.so")
fi

# 5. Node 22 (symbols stripped: 125 → 107 MB).
strip -o "$STAGE/bin/node" node_modules/node/bin/node

# 6. The bundle: the manifest and the files it names.
name=$(basename "$BUNDLE")
mkdir -p "$STAGE/models/$name"
cp "$BUNDLE/manifest.json" "$STAGE/models/$name/"
node -e 'const m=require(process.argv[1]);const s=m.stages;for(const g of [s.text_encoder,s.image_encoder,s.prior,s.decoder,...s.upsamplers])console.log(g.file);console.log(m.tokenizer.file)' \
  "$PWD/$BUNDLE/manifest.json" | while read -r f; do cp "$BUNDLE/$f" "$STAGE/models/$name/"; done

cat >"$STAGE/pack.json" <<EOF
{"packed_at": "$(date -u +%FT%TZ)", "node": "$("$STAGE/bin/node" -v)", "onnxruntime_node": "$ORT_VERSION",
 "cuda_provider": "$PROVIDER_PKG (onnxruntime $ORT_VERSION, CUDA 13)", "provider_needs": "$needed",
 "fatbin": $prune, "bundle": "$name"}
EOF

# 7. Compress, then split into the fewest pieces of at most PIECE_MIB, all of about the same
#    size, so each call's transfer keeps a margin under 64 MiB for the working tree and tools.
tar -C "$PACK/stage" -cf - unclip-gpu | zstd -19 -T2 -q -c >"$PACK/unclip-gpu.tar.zst"
size=$(stat -c %s "$PACK/unclip-gpu.tar.zst")
pieces=$(( (size + PIECE_MIB * 1048576 - 1) / (PIECE_MIB * 1048576) ))
rm -f "$PACK"/chunks/unclip-gpu.tar.zst.*
split -n "$pieces" -d -a 2 "$PACK/unclip-gpu.tar.zst" "$PACK/chunks/unclip-gpu.tar.zst."
(cd "$PACK/chunks" && sha256sum unclip-gpu.tar.zst.* >../tools/SHA256SUMS)
rm -rf "$PACK/x"
pack_app
du -sh "$STAGE" "$PACK"/chunks/* "$PACK"/tools/*
echo "pieces: $(ls "$PACK"/chunks | tr '\n' ' ')"
