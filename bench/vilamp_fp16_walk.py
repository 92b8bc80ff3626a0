"""How far the project's ``released`` keyframe walk is from the authors' own code, side by side.

The authors' ``SeqFrameSelector.forward`` is run here literally in torch on the CPU, as their
code would run there: ``util.cos_sim`` (``F.normalize`` then ``torch.mm``) on the fp16 CLIP
embeddings, ``torch.sort`` with the earlier frame first on ties (the README's reading of
their unstable sort), ``sorted_scores[idx] < f2t_thrd`` and ``f2f_scores[cur] > f2f_thrd`` on
fp16 tensors. Beside it, on the same fp16 tensors:

* ``released`` today: :func:`runner.vilamp.keyframes.select_keyframes` on the fp16 embeddings
  (each cosine rounded once from its exact value);
* the former reading: the same walk on the embeddings cast to float32.

Inputs: random fp16 "CLIP" embeddings (512-d, raw norms about 10) of ``--frames`` frames in
scenes of 5-40 near-duplicates whose cosines to each other lie within about 0.01 of tau,
a question vector near three scenes, K = 32, tau = 0.85, floor 0.2 or none. The score-flip
fraction is counted on the first ``--flip-inputs`` inputs (a 2000 x 2000 exact product each).

    python bench/vilamp_fp16_walk.py [--inputs 200] [--frames 2000] [--seed 0]

Prints the number of inputs whose keyframes differ from the authors' code, for each reading,
and the fraction of fp16 scores on which ``torch.mm`` (fp32 accumulation in kernel order) and
the exact-then-rounded score differ.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from runner.vilamp.keyframes import cos_sim, fill_distribute, select_keyframes


def authors_walk(img: torch.Tensor, text: torch.Tensor, k: int, f2f: float, f2t: float) -> list[int]:
    """Their forward, on the CPU, returning the selected frames in time order."""
    def util_cos_sim(a, b):
        return torch.mm(F.normalize(a, p=2, dim=1), F.normalize(b, p=2, dim=1).transpose(0, 1))
    f2f_scores = util_cos_sim(img, img)
    f2t_scores = util_cos_sim(img, text[None]).reshape(-1)
    n = f2t_scores.shape[0]
    visited = torch.zeros(n, dtype=torch.bool)
    selected = torch.zeros(n, dtype=torch.int64)
    scores, order = torch.sort(f2t_scores, descending=True, stable=True)
    idx = 0
    while idx < n and selected.sum().item() < k:
        if scores[idx] < f2t:
            break
        cur = order[idx].item()
        if visited[cur]:
            idx += 1
            continue
        visited[cur] = True
        selected[cur] = 1
        visited |= f2f_scores[cur] > f2f
        idx += 1
    chosen = [i for i in range(n) if selected[i]]
    return sorted(chosen + fill_distribute(chosen, n, k))


def make_input(gen: torch.Generator, frames: int, dim: int = 512, tau: float = 0.85) -> tuple[torch.Tensor, torch.Tensor]:
    rows = []
    while sum(r.shape[0] for r in rows) < frames:
        base = F.normalize(torch.randn(dim, generator=gen, dtype=torch.float64), dim=0)
        size = int(torch.randint(5, 40, (1,), generator=gen))
        # cosine sqrt(tau + e) to a hidden centre: two members are then at about tau + e to each other
        cos = (tau + (torch.rand(size, generator=gen, dtype=torch.float64) - 0.5) * 0.02).sqrt()
        noise = torch.randn(size, dim, generator=gen, dtype=torch.float64)
        noise = F.normalize(noise - (noise @ base)[:, None] * base, dim=1)
        scene = cos[:, None] * base + (1 - cos ** 2).sqrt()[:, None] * noise
        rows.append(scene * (9 + 2 * torch.rand(size, 1, generator=gen, dtype=torch.float64)))
    img = torch.cat(rows)[:frames]
    text = F.normalize(img[torch.randint(0, frames, (3,), generator=gen)].sum(0), dim=0) * 0.3 + \
        F.normalize(torch.randn(dim, generator=gen, dtype=torch.float64), dim=0)
    return img.half(), (text * 10).half()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flip-inputs", type=int, default=5)
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(args.seed)
    differ16 = differ32 = 0
    flips = total = 0
    start = time.time()
    for i in range(args.inputs):
        img, text = make_input(gen, args.frames)
        floor = 0.2 if i % 2 else -1.0
        theirs = authors_walk(img, text, 32, 0.85, floor)
        floor_arg = None if floor <= -1 else floor
        ours16 = select_keyframes(img, text, 32, 0.85, floor_arg, profile="released").indices
        ours32 = select_keyframes(img.float(), text.float(), 32, 0.85, floor_arg, profile="released").indices
        differ16 += ours16 != theirs
        differ32 += ours32 != theirs
        if i < args.flip_inputs:
            unit = F.normalize(img, p=2, dim=1)
            flips += int((torch.mm(unit, unit.T) != cos_sim(img, img)).sum())
            total += img.shape[0] ** 2
    print(f"{args.inputs} inputs of {args.frames} fp16 frames (512-d, scenes within 0.01 of tau=0.85), K=32, "
          f"{time.time() - start:.0f} s")
    print(f"keyframes differ from the authors' code on the CPU: released fp16 walk {differ16}/{args.inputs}, "
          f"float32 walk {differ32}/{args.inputs}")
    print(f"fp16 frame-frame scores where torch.mm differs from the exact-then-rounded cosine "
          f"(first {min(args.flip_inputs, args.inputs)} inputs): {flips}/{total} ({100 * flips / max(total, 1):.3f} %)")


if __name__ == "__main__":
    main()
