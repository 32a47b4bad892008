"""Goldens for the runner's DPM-Solver++(2M): a small fixed network (exported to ONNX, so the
runner's own loop runs it through onnxruntime) sampled by `dpmpp_2m_sample` in PyTorch, for
each prediction type, with and without guidance and clipping. The trained bundles' weights are
not needed: what is pinned is the solver around the network, not the network.

    /usr/bin/python3 training/solver_goldens.py   # -> gpu-runner/src/pipeline/testdata/
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.diffusion import Diffusion, dpmpp_2m_sample  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "gpu-runner", "src", "pipeline", "testdata")
X_DIM, COND_DIM = 12, 4


class SolverTestNet(torch.nn.Module):
    """pred = 1.5 tanh(x W + cond C + [sin, cos](t/T · f) F): smooth in x, t and the condition."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(2022)
        self.w = torch.nn.Parameter(torch.randn(X_DIM, X_DIM, generator=g) * 0.4)
        self.c = torch.nn.Parameter(torch.randn(COND_DIM, X_DIM, generator=g) * 0.6)
        self.f = torch.nn.Parameter(torch.randn(8, X_DIM, generator=g) * 0.5)
        self.freqs = torch.nn.Parameter(torch.tensor([1.0, 2.0, 4.0, 8.0]))

    def forward(self, x_t, timestep, cond):  # (B, X) (B,) (B, C) -> (B, X)
        phase = (timestep / 1000.0)[:, None] * self.freqs[None, :] * 3.14159
        temb = torch.cat([phase.sin(), phase.cos()], dim=1)
        return 1.5 * torch.tanh(x_t @ self.w + cond @ self.c + temb @ self.f)


def arr(t: torch.Tensor) -> dict:
    return {"shape": list(t.shape), "data": [float(f"{v:.9g}") for v in t.flatten().tolist()]}


def main():
    torch.manual_seed(0)
    net = SolverTestNet().eval()
    os.makedirs(OUT, exist_ok=True)
    onnx_path = os.path.join(OUT, "solver_test_net.onnx")
    b = 2
    torch.onnx.export(net, (torch.zeros(b, X_DIM), torch.zeros(b), torch.zeros(b, COND_DIM)), onnx_path,
                      input_names=["x_t", "timestep", "cond"], output_names=["pred"], opset_version=17,
                      dynamic_axes={"x_t": {0: "batch"}, "timestep": {0: "batch"}, "cond": {0: "batch"},
                                    "pred": {0: "batch"}})
    g = torch.Generator().manual_seed(7)
    cond = torch.randn(b, COND_DIM, generator=g)
    loops = []
    for name, prediction, steps, guidance, clip in [
        ("x0, guided, unclipped (prior)", "x0", 6, 2.0, False),
        ("v, guided, clipped (decoder)", "v", 6, 3.0, True),
        ("v, unguided, clipped (upsampler)", "v", 3, 1.0, True),
        ("eps, guided, clipped", "eps", 10, 1.5, True),
        ("v, one step", "v", 1, 3.0, True),
    ]:
        diff = Diffusion("cosine", 1000, prediction)

        def fn(x, t, is_cond):
            return net(x, t, cond if is_cond else torch.zeros_like(cond))

        rec = {}
        x_T = torch.randn(b, X_DIM, generator=g)
        out = dpmpp_2m_sample(fn, (b, X_DIM), diff, steps, guidance, clip_x0=clip, x_T=x_T, record=rec)
        loops.append({"name": name, "prediction": prediction, "steps": steps, "guidance": guidance,
                      "clip_x0": clip, "timesteps": rec["timesteps"], "cond": arr(cond), "x_T": arr(x_T),
                      "output": arr(out)})
    with open(os.path.join(OUT, "dpmpp_goldens.json"), "w") as f:
        json.dump({"schedule": {"name": "cosine", "timesteps": 1000}, "x_dim": X_DIM, "cond_dim": COND_DIM,
                   "loops": loops}, f)
    print(f"wrote {onnx_path} and dpmpp_goldens.json ({len(loops)} loops)")


if __name__ == "__main__":
    main()
