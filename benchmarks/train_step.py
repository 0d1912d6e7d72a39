"""Time one Health Gym v1 training iteration: the plain reference against the project.

One iteration = n_critic (5) critic updates on one real batch + 1 generator update, at the
published sizes (B = 256, latent 128, hidden 128) and F of the built-in HIV cohort. Both
versions hold the same weights and run in this process, interleaved (reference, project,
reference, ...), and the ratio is the median of the paired ratios: these machines drift
~1.5x between runs, so only ratios taken side by side mean anything.

    .venv/bin/python benchmarks/train_step.py                 # L = 10 and 60, 5 pairs each
    .venv/bin/python benchmarks/train_step.py --lengths 60 --repeats 9
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgym_core.config import TrainConfig  # noqa: E402
from hgym_core.models import Critic, Generator  # noqa: E402
from hgym_core.reference import reference_from_project, reference_iteration  # noqa: E402
from hgym_core.wgan import correlation_matrix, train_iteration  # noqa: E402


def cohort_spans() -> tuple[list, str]:
    """Spans of the built-in cohort's encoder; a stand-in with the HIV category counts until it exists."""
    try:
        from hgym_core.demo import simulate_hiv_cohort
        from hgym_core.encoding import Encoder
        from hgym_core.schema import Schema
    except ImportError:
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Span:
            name: str
            kind: str
            n_classes: int
            embed_dim: int
            start: int
            end: int

        # VL, CD4, Rel CD4; Gender, Ethnic, Base Drug Combo, Comp. INI, Comp. NNRTI, Extra PI,
        # Extra pk-En, VL (M), CD4 (M), Drug (M) (HEALTH_GYM_V1.md).
        spans = [Span(name, "real", 1, 1, i, i + 1) for i, name in enumerate(("VL", "CD4", "Rel CD4"))]
        for k in (2, 4, 6, 4, 4, 6, 2, 2, 2, 2):
            start = spans[-1].end
            spans.append(Span(f"block{len(spans)}", "bin" if k == 2 else "cat", k, 2 if k == 2 else 4, start, start + k))
        return spans, "HIV category counts (encoder not available)"
    cohort = simulate_hiv_cohort(n_patients=300, seed=0)
    return Encoder.fit(cohort, Schema.infer(cohort)).spans, "built-in cohort's encoder"


def adam(module: torch.nn.Module, config: TrainConfig) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=config.lr, betas=config.betas)


def time_call(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def benchmark_length(spans: list, length: int, repeats: int, config: TrainConfig, device: torch.device) -> None:
    torch.manual_seed(0)
    generator = Generator(spans, config.latent_dim, config.hidden_dim).to(device)
    critic = Critic(spans, config.hidden_dim).to(device)
    ref_generator, ref_critic = reference_from_project(generator, critic)
    with torch.no_grad():  # a valid encoded batch stands in for real data; timing does not depend on it
        real = generator(generator.sample_noise(config.batch_size, length, torch.Generator(device).manual_seed(1)))
    real_corr = correlation_matrix(real)
    project_opts = (adam(generator, config), adam(critic, config))
    reference_opts = (adam(ref_generator, config), adam(ref_critic, config))
    project_noise = torch.Generator(device).manual_seed(2)
    reference_noise = torch.Generator(device).manual_seed(2)

    def project() -> None:
        train_iteration(generator, critic, *project_opts, real, real_corr, config, project_noise)

    def reference() -> None:
        reference_iteration(ref_generator, ref_critic, *reference_opts, real, real_corr, config, reference_noise)

    project(), reference()  # warm-up: allocator, oneDNN/cuDNN plans
    reference_times, project_times = [], []
    for _ in range(repeats):
        reference_times.append(time_call(reference, device))
        project_times.append(time_call(project, device))
    ratios = [r / p for r, p in zip(reference_times, project_times)]
    print(
        f"L={length:3d}  reference {statistics.median(reference_times):7.3f} s  "
        f"project {statistics.median(project_times):7.3f} s  "
        f"speed-up {statistics.median(ratios):5.2f}x (paired median of {repeats}; range {min(ratios):.2f}-{max(ratios):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 60], help="sequence lengths L to time")
    parser.add_argument("--repeats", type=int, default=5, help="timed (reference, project) pairs per length")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    args = parser.parse_args()

    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    config = TrainConfig()
    spans, source = cohort_spans()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}")
    print(
        f"sizes: B={config.batch_size}, n_critic={config.n_critic}, latent={config.latent_dim}, "
        f"hidden={config.hidden_dim}, F={spans[-1].end} ({source})"
    )
    for length in args.lengths:
        benchmark_length(spans, length, args.repeats, config, device)


if __name__ == "__main__":
    main()
