"""A model bundle's own networks in PyTorch: built from the architecture its manifest records
(`architecture`, written at export) and loaded with the bundle's ONNX initializers, so a
PyTorch baseline runs the network the runner runs, with its weights, and says so.

The check that makes this more than a claim: per stage, the float elements of the ONNX
initializers must equal the parameters of the PyTorch module (CLIP's logit_scale is in no
graph and counts for no stage). A config that differs from the bundle fails here, before any
timing. torch.onnx.export renames some tensors (transposed Linear weights, GroupNorm affines
become `onnx::MatMul_N` / `onnx::Mul_N`): those are found by re-exporting the freshly built
module and matching each renamed initializer, by the node that consumes it, to the parameter
whose values it holds.
"""
import inspect
import io
import json
import os
import warnings
import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .checkpoint import build_model
from .config import BundleConfig, ClipConfig, PriorConfig, UNetConfig, from_dict

# Stages the runner executes for a text prompt (the image encoder serves variations only).
GENERATION_STAGES = ("text_encoder", "prior", "decoder", "upsampler")
_FLOAT_TYPES = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
                onnx.TensorProto.BFLOAT16)


class NetworkMismatch(Exception):
    """The PyTorch networks are not the bundle's (a stage's parameter count or tensors differ)."""


def config_from_manifest(manifest: dict) -> BundleConfig:
    """The BundleConfig of the networks a manifest records (export.architecture_of); NetworkMismatch
    when it records none."""
    arch = manifest.get("architecture")
    if arch is None:
        raise NetworkMismatch(f"bundle {manifest['name']}: the manifest records no architecture "
                              "(re-export it with training/export_bundle.py)")
    if len(arch["upsamplers"]) != 1:
        raise NetworkMismatch(f"bundle {manifest['name']}: {len(arch['upsamplers'])} upsamplers; "
                              "training/unclip builds exactly one")
    return BundleConfig(name=manifest["name"], clip=from_dict(ClipConfig, arch["clip"]),
                        prior=from_dict(PriorConfig, arch["prior"]),
                        decoder=from_dict(UNetConfig, arch["decoder"]),
                        upsampler=from_dict(UNetConfig, arch["upsamplers"][0]))


def read_manifest(bundle_dir: str) -> dict:
    with open(os.path.join(bundle_dir, "manifest.json")) as f:
        return json.load(f)


def stage_files(manifest: dict) -> dict:
    """stage -> ONNX file name, for the stages training/unclip builds."""
    s = manifest["stages"]
    files = {k: s[k]["file"] for k in ("text_encoder", "image_encoder", "prior", "decoder")}
    files["upsampler"] = s["upsamplers"][0]["file"]
    return files


def stage_modules(nets: dict) -> dict:
    """stage -> the PyTorch module that stage's ONNX graph was exported from."""
    return {"text_encoder": nets["clip"].text, "image_encoder": nets["clip"].image, "prior": nets["prior"],
            "decoder": nets["decoder"], "upsampler": nets["upsampler"]}


def onnx_parameter_count(path: str) -> int:
    """Float elements of a graph's initializers: its parameters (shapes and masks are not floats
    or are Constant nodes, not initializers)."""
    graph = onnx.load(path, load_external_data=False).graph
    return sum(int(np.prod(i.dims)) for i in graph.initializer if i.data_type in _FLOAT_TYPES)


def parameter_counts(bundle_dir: str, manifest: dict, nets: dict) -> dict:
    """stage -> {"onnx": n, "torch": n} for every stage of the bundle."""
    files, modules = stage_files(manifest), stage_modules(nets)
    return {stage: {"onnx": onnx_parameter_count(os.path.join(bundle_dir, files[stage])),
                    "torch": sum(p.numel() for p in modules[stage].parameters())} for stage in files}


def check_same_network(counts: dict, bundle: str, config: str) -> None:
    """NetworkMismatch naming every stage whose counts differ."""
    bad = [f"{s}: bundle {c['onnx']:,} vs PyTorch {c['torch']:,}" for s, c in counts.items() if c["onnx"] != c["torch"]]
    if bad:
        raise NetworkMismatch(f"the PyTorch networks ({config}) are not bundle {bundle}'s: parameters per stage differ: "
                              + "; ".join(bad))


def _export(module, inputs: dict, outputs: list) -> onnx.ModelProto:
    """The graph export.py writes for this module (same opset, folding and dynamic batch)."""
    from .export import OPSET
    # torch >= 2.9 defaults to the dynamo exporter, which names tensors otherwise
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    buf = io.BytesIO()
    names = list(inputs)
    with warnings.catch_warnings():  # tracer warnings about shape-dependent code: export.py's too
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), tuple(inputs.values()), buf, input_names=names, output_names=outputs,
                          dynamic_axes={n: {0: "batch"} for n in names + outputs}, opset_version=OPSET,
                          do_constant_folding=True, **legacy)
    return onnx.load_from_string(buf.getvalue())


def _consumers(graph) -> dict:
    """initializer name -> sorted (node name, input slot) pairs that read it: a name torch.onnx
    gives by module path, stable where the initializer's own `onnx::Op_N` name is not."""
    inits = {i.name for i in graph.initializer}
    uses = {}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            if name in inits:
                uses.setdefault(name, []).append((node.name, slot))
    return {k: tuple(sorted(v)) for k, v in uses.items()}


def _layouts(param: torch.Tensor) -> dict:
    """How an exported initializer may hold a parameter's values: as is, transposed (a Linear
    weight folded into a MatMul) or reshaped (a GroupNorm affine as (C, 1, 1))."""
    out = {"same": lambda a: a, "reshaped": lambda a: a.reshape(tuple(param.shape))}
    if param.dim() == 2:
        out["transposed"] = lambda a: a.T
    return out


def _layout_of(array: np.ndarray, param: torch.Tensor):
    """The layout under which `array` holds exactly `param`'s values, or None."""
    if array.size != param.numel():
        return None
    value = param.detach().numpy()
    for name, f in _layouts(param).items():
        a = f(array)
        if a.shape == value.shape and np.array_equal(a, value):
            return name
    return None


def load_graph_weights(module, inputs: dict, outputs: list, onnx_path: str, stage: str) -> None:
    """Copies a bundle graph's initializers into `module`; NetworkMismatch if any tensor of either
    side is left over or the shapes disagree."""
    params = dict(module.named_parameters())
    # Distinct values, so each renamed initializer of the re-export points at one parameter.
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in params.values():
            p.copy_(torch.randn(p.shape, generator=g))
    fresh = _export(module, inputs, outputs).graph
    fresh_arrays = {i.name: numpy_helper.to_array(i) for i in fresh.initializer}
    fresh_uses = _consumers(fresh)
    bundle = onnx.load(onnx_path).graph
    bundle_arrays = {i.name: numpy_helper.to_array(i) for i in bundle.initializer}
    bundle_by_use = {use: name for name, use in _consumers(bundle).items()}

    loaded = set()
    for name, array in fresh_arrays.items():
        if array.dtype.kind != "f":
            continue
        if name in params:
            target, bundle_name, layout = name, name, _layout_of(array, params[name])
        else:  # renamed by the export: find the parameter by value, the bundle's tensor by consumer
            target, layout = next(((p, lay) for p, t in params.items() if p not in loaded
                                   for lay in [_layout_of(array, t)] if lay), (None, None))
            bundle_name = bundle_by_use.get(fresh_uses.get(name))
        if target is None or layout is None:
            raise NetworkMismatch(f"{stage}: initializer {name} {list(array.shape)} is no parameter of the module")
        if bundle_name not in bundle_arrays:
            raise NetworkMismatch(f"{stage}: {os.path.basename(onnx_path)} has no tensor for parameter {target}")
        if bundle_arrays[bundle_name].shape != array.shape:
            raise NetworkMismatch(f"{stage}: {bundle_name} is {list(bundle_arrays[bundle_name].shape)}, "
                                  f"parameter {target} wants {list(array.shape)}")
        value = _layouts(params[target])[layout](bundle_arrays[bundle_name])
        with torch.no_grad():
            params[target].copy_(torch.from_numpy(np.array(value, dtype=np.float32)))
        loaded.add(target)
    missing = sorted(set(params) - loaded)
    if missing:
        raise NetworkMismatch(f"{stage}: parameters with no tensor in {os.path.basename(onnx_path)}: {missing[:5]}")


def load_weights(nets: dict, cfg: BundleConfig, bundle_dir: str) -> None:
    """Every ONNX initializer of the bundle into `nets` (NetworkMismatch if any tensor is left over)."""
    from .export import graph_specs
    files = stage_files(read_manifest(bundle_dir))
    specs = graph_specs(nets["clip"], nets["prior"], nets["decoder"], nets["upsampler"], cfg)
    for stage, (module, inputs, outputs, _) in specs.items():
        name = "upsampler" if stage.startswith("upsampler_") else stage
        load_graph_weights(module, inputs, outputs, os.path.join(bundle_dir, files[name]), name)


def load_bundle_networks(bundle_dir: str, cfg: BundleConfig = None, weights: bool = True):
    """-> (nets {"clip", "prior", "decoder", "upsampler"}, cfg, report). The networks of
    `cfg` (default: the manifest's architecture), with the bundle's ONNX initializers unless
    `weights` is False. Raises NetworkMismatch before loading anything if a stage's parameter
    count differs from the bundle's. report: {"config", "weights", "parameters": per stage}."""
    manifest = read_manifest(bundle_dir)
    source = "manifest architecture" if cfg is None else f"config {cfg.data}:{cfg.name}"
    cfg = cfg or config_from_manifest(manifest)
    nets = {s: build_model(s, cfg).eval() for s in ("clip", "prior", "decoder", "upsampler")}
    counts = parameter_counts(bundle_dir, manifest, nets)
    check_same_network(counts, manifest["name"], source)
    if weights:
        load_weights(nets, cfg, bundle_dir)
    report = {"config": source, "weights": "the bundle's ONNX initializers" if weights else "untrained, same architecture",
              "parameters": counts}
    return nets, cfg, report


def baseline_networks(bundle_dir: str, cfg: BundleConfig = None):
    """What a benchmark's PyTorch side runs: the bundle's networks (NetworkMismatch when the
    counts differ) with its weights, or, when a tensor cannot be placed (an exporter of another
    torch version may lay the graph out differently), the same architecture untrained, which
    times the same work (dense products, no data-dependent control flow) and says so."""
    nets, cfg, report = load_bundle_networks(bundle_dir, cfg, weights=False)
    try:
        load_weights(nets, cfg, bundle_dir)
        report["weights"] = "the bundle's ONNX initializers"
    except NetworkMismatch as e:
        report["weights"] = f"untrained, same architecture (the weights did not load: {e})"
    return nets, cfg, report


def generation_parameters(counts: dict, side: str) -> int:
    """Parameters summed over the stages the runner executes for a prompt."""
    return sum(counts[s][side] for s in GENERATION_STAGES)
