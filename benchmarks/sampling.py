"""Sampling throughput: synthetic patient-months per second (target: >= 50,000 on a 2-core CPU).

Published model sizes (latent 128, hidden 128) on the built-in cohort's 36 features; the weights
come from a one-step fit because speed does not depend on what the model has learnt.

    .venv/bin/python benchmarks/sampling.py [--patients 20000] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from hgym_core.gan.config import TrainConfig  # noqa: E402
from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.device import apply_cpu_threads, describe_device  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402
from hgym_core.synthesizer import Synthesizer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000, help="patients per timed sample() call")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls (the median is reported)")
    parser.add_argument("--batch-size", type=int, default=2048, help="sample() batch size")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = parser.parse_args()
    apply_cpu_threads(args.threads)

    cohort = simulate_hiv_cohort(n_patients=200, seed=0)
    config = TrainConfig(epochs=1, curriculum=(1,), max_patients=2, batch_size=2, device=args.device)
    synthesizer = Synthesizer(Schema.infer(cohort), config).fit(cohort)
    months = synthesizer.encoder.max_length
    print(f"device: {describe_device(next(synthesizer.generator.parameters()).device)}; "
          f"latent {config.latent_dim}, hidden {config.hidden_dim}, {synthesizer.encoder.n_features} features, "
          f"{months} months, batch {args.batch_size}")

    synthesizer.sample(min(args.batch_size, args.patients), seed=99)  # warm-up
    times, cpu_times = [], []
    for repeat in range(args.repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        table = synthesizer.sample(args.patients, seed=repeat, batch_size=args.batch_size)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    seconds, cpu_seconds = statistics.median(times), statistics.median(cpu_times)
    print(f"sample({args.patients:,}) -> {len(table):,} rows: median {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU "
          f"(wall: {', '.join(f'{t:.2f}' for t in times)})")

    # Where the time goes, for one batch: the generator vs decoding to a table.
    generator, noise = synthesizer.generator, torch.Generator().manual_seed(0)
    with torch.inference_mode():
        z = generator.sample_noise(args.batch_size, months, noise)
        started = time.perf_counter()
        encoded = generator(z)
        generate = time.perf_counter() - started
    started = time.perf_counter()
    synthesizer.encoder.decode(encoded)
    decode = time.perf_counter() - started
    with torch.inference_mode():
        logits = torch.randn_like(encoded)
        started = time.perf_counter()
        generator.head(logits)
        head = time.perf_counter() - started
    print(f"one batch of {args.batch_size}: generator {generate:.3f} s (of which output head {head:.3f} s), "
          f"decode {decode:.3f} s")
    # Wall time is what a user waits; CPU time shows the cost when other processes share the cores.
    print(f"throughput: {args.patients * months / seconds:,.0f} patient-months/s wall, "
          f"{args.patients * months / cpu_seconds:,.0f} per CPU-second (target >= 50,000)")


if __name__ == "__main__":
    main()
