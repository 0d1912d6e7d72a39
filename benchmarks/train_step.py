"""Time one Health Gym v1 training iteration: the plain reference against the project.

One iteration = n_critic (5) critic updates on one real batch + 1 generator update, at the
published sizes (B = 256, latent 128, hidden 128) and F of the built-in HIV cohort. Both
versions hold the same weights and run in this process, interleaved (reference, project,
reference, ...), and the ratio is the median of the paired ratios: these machines drift
~1.5x between runs, so only ratios taken side by side mean anything.

    .venv/bin/python benchmarks/train_step.py                 # L = 10 and 60, 5 pairs each
    .venv/bin/python benchmarks/train_step.py --lengths 60 --repeats 9 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgym_core.gan.config import TrainConfig  # noqa: E402
from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.data.encoding import Encoder  # noqa: E402
from hgym_core.gan.models import Critic, Generator  # noqa: E402
from hgym_core.gan.reference import reference_from_project, reference_iteration  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402
from hgym_core.gan.wgan import correlation_matrix, train_iteration  # noqa: E402


def cohort_batch(batch_size: int, length: int) -> tuple[list, torch.Tensor]:
    """Spans and one real batch [B, L, F] of the built-in HIV cohort, encoded as training sees it."""
    cohort = simulate_hiv_cohort(n_patients=batch_size, seed=0)
    encoder = Encoder.fit(cohort, Schema.infer(cohort))
    return encoder.spans, encoder.encode(cohort).data[:, :length]


def adam(module: torch.nn.Module, config: TrainConfig) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=config.lr, betas=config.betas)


def time_call(fn, device: torch.device) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one call."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def paired(reference: list[float], project: list[float]) -> str:
    ratios = [r / p for r, p in zip(reference, project)]
    return (
        f"reference {statistics.median(reference):7.3f} s  project {statistics.median(project):7.3f} s  "
        f"speed-up {statistics.median(ratios):5.2f}x (range {min(ratios):.2f}-{max(ratios):.2f})"
    )


def benchmark_length(length: int, repeats: int, config: TrainConfig, device: torch.device) -> None:
    spans, real = cohort_batch(config.batch_size, length)
    real = real.to(device)
    torch.manual_seed(0)
    generator = Generator(spans, config.latent_dim, config.hidden_dim).to(device)
    critic = Critic(spans, config.hidden_dim).to(device)
    ref_generator, ref_critic = reference_from_project(generator, critic)
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
    for _ in range(repeats):  # interleaved, so drift hits both alike
        reference_times.append(time_call(reference, device))
        project_times.append(time_call(project, device))
    print(f"L={length:3d} F={spans[-1].end}, {repeats} pairs, paired medians")
    print(f"  wall: {paired([t[0] for t in reference_times], [t[0] for t in project_times])}")
    if device.type == "cpu":  # CPU seconds are steadier than wall time when other jobs share the cores
        print(f"  CPU:  {paired([t[1] for t in reference_times], [t[1] for t in project_times])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 60], help="sequence lengths L to time")
    parser.add_argument("--repeats", type=int, default=5, help="timed (reference, project) pairs per length")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    config = TrainConfig()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}")
    print(
        f"sizes: B={config.batch_size}, n_critic={config.n_critic}, latent={config.latent_dim}, "
        f"hidden={config.hidden_dim}, built-in HIV cohort"
    )
    for length in args.lengths:
        benchmark_length(length, args.repeats, config, device)


if __name__ == "__main__":
    main()
