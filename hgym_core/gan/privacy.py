"""Patient-level differential privacy for the critics (DP-SGD), with Opacus's accountant.

Only the critic and the static critic read real patients; the generator learns from their scores
alone, so it (and every patient sampled from it) is post-processing of the critics' private
updates. Under ``dp_epsilon`` each critic update is one DP-SGD step (Abadi et al. 2016):

1. Poisson sampling: each training patient joins the step's batch with probability q = batch_size
   / patients (the batch's size varies; the expected size is ``batch_size``).
2. Per-patient gradients by ``torch.func`` (functional_call + vmap + grad): the loss of one real
   patient and its paired fake, D(fake) − D(real) + the gradient penalty of their mix (+ the static
   critic's same three terms). Opacus's hooks cannot do this: the penalty differentiates the
   critic's input gradient again (a double backward). The fake term reads no real data, but the
   whole per-patient loss is clipped, as is standard.
3. Each patient's gradient (every parameter of both critics, flattened) is clipped to norm
   ``dp_clip``; the clipped gradients are summed, Gaussian noise N(0, (σ · clip)²) is added to
   every coordinate, and the sum is divided by the expected batch size; Adam then steps on it.
4. Opacus's ``RDPAccountant`` records (σ, q) for the step. σ is calibrated before training by
   ``opacus.accountants.utils.get_noise_multiplier`` to reach ``dp_epsilon`` (at δ) after the
   planned steps, epochs x batches x n_critic; training stops before a step that would spend more.

Every batch is padded to the curriculum length L (not to its own longest patient), so no
patient's presence changes another patient's gradient; PacGAN, the correlation loss, validation,
the guard, the marginal start and ``max_patients`` are refused under DP (``config.DP_OFF``).

Randomness: the Poisson draws, the fakes' noise, the penalty's mixing weights and the Gaussian
noise come from a stream of their own, seeded from the operating system's randomness at the
start of the run (``secret_seed``; a known seed would let anyone rerun the noise), never from the
run's public ``seed``. Its state is in the checkpoint (with the accountant's history), so a DP run
resumes bit-exactly, and checkpoint.pt must stay as private as the data.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from hgym_core.data.encoding import EncodedCohort
from hgym_core.errors import HGymError
from hgym_core.gan.config import TrainConfig
from hgym_core.gan.wgan import Padding, StepMetrics, draw_fakes, generator_losses

ACCOUNTANT = "rdp"
ACCOUNTANT_WORDS = "Opacus 1.6.0 RDPAccountant (Rényi DP of the Poisson-subsampled Gaussian mechanism)"
NOISE_TOLERANCE = 0.01        # get_noise_multiplier's epsilon tolerance: the plan spends E − 0.01 to E
CLIP_EPS = 1e-6               # as Opacus: factor = clip / (norm + 1e-6), at most 1
DELTA_WORDS = "min(1e-5, 1 / patients^1.1)"
COVERS = ("(ε, δ)-differential privacy for each training patient (all of a patient's rows together: adding or "
          "removing one patient), for the generator's weights and everything sampled from them, given the "
          "public facts below")
NOT_COVERED = (
    "metrics.csv, the live curves and the progress line: the critic's scores of real batches (D_real, W, GP, D_loss) "
    "are shown as computed, not noised",
    "run.json's data record (patient and row counts, a fingerprint of the training data) and patients.json (the "
    "training and holdout patients' ids)",
    "checkpoint.pt: it holds the secret noise stream (anyone with it could replay the noise)",
    "the Compare page's and the report's scores, which read the real training and holdout patients",
    "the noise comes from torch's generator seeded by 63 secret bits from the operating system, not a "
    "cryptographically secure generator (as Opacus without secure_mode); floating-point attacks on the "
    "Gaussian sampler are not addressed",
)


def secret_seed() -> int:
    """63 bits from the operating system's randomness: the private stream's seed (never recorded)."""
    return secrets.randbits(63)


def default_delta(patients: int) -> float:
    """δ when none is given: min(1e-5, 1 / patients^1.1). Below 1 / patients always (a mechanism that
    publishes a random patient with probability δ would expose fewer than one patient in
    expectation), and never above 1e-5, the usual choice for tables of a few thousand patients."""
    return min(1e-5, 1.0 / max(patients, 2) ** 1.1)


@dataclass(frozen=True)
class PrivacyPlan:
    """What a DP run promises: (epsilon, delta) after ``planned_steps`` critic steps at noise
    multiplier σ and sampling rate q."""

    epsilon: float
    delta: float
    clip: float
    noise_multiplier: float
    sample_rate: float
    planned_steps: int
    patients: int
    expected_batch: int

    @classmethod
    def calibrate(cls, config: TrainConfig, patients: int, steps_per_epoch: int) -> "PrivacyPlan":
        from opacus.accountants.utils import get_noise_multiplier

        delta = config.dp_delta if config.dp_delta is not None else default_delta(patients)
        rate = min(1.0, config.batch_size / patients)
        steps = config.epochs * steps_per_epoch * config.n_critic
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # "optimal order is the largest alpha": a looser bound, still valid
                sigma = get_noise_multiplier(target_epsilon=config.dp_epsilon, target_delta=delta, sample_rate=rate,
                                             steps=steps, accountant=ACCOUNTANT, epsilon_tolerance=NOISE_TOLERANCE)
        except ValueError:
            raise HGymError(f"Differential privacy at epsilon {config.dp_epsilon:g} over {steps:,} critic steps needs "
                            "more noise than the networks can learn through; allow a larger dp_epsilon, or plan "
                            "fewer steps (fewer epochs, or a smaller batch_size).") from None
        return cls(float(config.dp_epsilon), float(delta), float(config.dp_clip), float(sigma), float(rate), steps,
                   patients, int(config.batch_size))


def per_patient_gradients(critic: nn.Module, real: Tensor, fake: Tensor, alpha: Tensor, alpha_static: Tensor,
                          lambda_gp: float, static_weight: float = 1.0,
                          padding: Padding | None = None) -> tuple[dict[str, Tensor], Tensor]:
    """Each patient's gradient of its own critic loss, {parameter name: [B, *shape]}, and its terms
    [B, 4] (loss, GP, D(real), D(fake)), for real and fake sequences [B, L, F] paired row by row,
    mixing weights ``alpha`` [B, 1, 1] and ``alpha_static`` [B, 1] (module docstring, step 2)."""
    params = {name: value.detach() for name, value in critic.named_parameters()}
    buffers = dict(critic.named_buffers())
    static = critic.static
    static_buffers = {} if static is None else dict(static.named_buffers())

    def score(p: dict, x: Tensor) -> Tensor:   # x [1, L, F]: one patient as a batch of one
        return functional_call(critic, (p, buffers), (x,), {"twice_differentiable": True}).sum()

    def static_score(p: dict, s: Tensor) -> Tensor:
        own = {name[len("static."):]: value for name, value in p.items() if name.startswith("static.")}
        return functional_call(static, (own, static_buffers), (s,)).sum()

    def penalty(gradient: Tensor) -> Tensor:
        return lambda_gp * (torch.sqrt(gradient.square().sum() + 1e-12) - 1).square()

    def loss(p: dict, x_real: Tensor, x_fake: Tensor, a: Tensor, a_static: Tensor) -> tuple[Tensor, Tensor]:
        x_real, x_fake = x_real.unsqueeze(0), x_fake.unsqueeze(0)
        if padding is not None:
            x_real, x_fake = padding.apply(x_real), padding.apply(x_fake)
        d_real, d_fake = score(p, x_real), score(p, x_fake)
        gp = penalty(grad(lambda m: score(p, m))(a * x_real + (1 - a) * x_fake))
        total = d_fake - d_real + gp
        if static is not None:
            s_real, s_fake = static.select(x_real), static.select(x_fake)
            s_gp = penalty(grad(lambda m: static_score(p, m))(a_static * s_real + (1 - a_static) * s_fake))
            total = total + static_weight * (static_score(p, s_fake) - static_score(p, s_real) + s_gp)
        return total, torch.stack([total, gp, d_real, d_fake]).detach()

    return vmap(grad(loss, has_aux=True), in_dims=(None, 0, 0, 0, 0), randomness="error")(
        params, real, fake, alpha, alpha_static)


def clip_and_sum(gradients: dict[str, Tensor], clip: float) -> tuple[dict[str, Tensor], Tensor]:
    """(Σ_i g_i · min(1, clip / (‖g_i‖ + 1e-6)) per parameter, ‖g_i‖ [B]): each patient's whole
    gradient, over every parameter, clipped to ``clip`` before the sum (Opacus's flat clipping)."""
    norms = torch.sqrt(sum(g.flatten(1).square().sum(dim=1) for g in gradients.values()))
    factor = (clip / (norms + CLIP_EPS)).clamp(max=1.0)
    return {name: torch.einsum("b,b...->...", factor, g) for name, g in gradients.items()}, norms


class PrivateCritic:
    """The DP-SGD critic updates of one run: the plan, Opacus's accountant and the private stream."""

    def __init__(self, config: TrainConfig, patients: int, steps_per_epoch: int, device: torch.device):
        from opacus.accountants import RDPAccountant

        self.config = config
        self.plan = PrivacyPlan.calibrate(config, patients, steps_per_epoch)
        self.accountant = RDPAccountant()
        self.stream = torch.Generator(device=device).manual_seed(secret_seed())
        self._rdp_per_step = None

    # --- the budget ---------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Critic steps accounted so far."""
        return sum(int(steps) for _, _, steps in self.accountant.history)

    def epsilon(self, steps: int | None = None) -> float:
        """ε spent after ``steps`` critic steps at the plan's σ and q (default: those taken), at the
        plan's δ: Opacus's RDP analysis of exactly what the accountant holds (the test
        ``test_privacy_dp`` checks it against ``RDPAccountant.get_epsilon``), its per-step RDP cached."""
        from opacus.accountants import RDPAccountant
        from opacus.accountants.analysis import rdp

        steps = self.steps if steps is None else steps
        if steps == 0:
            return 0.0
        if any((sigma, rate) != (self.plan.noise_multiplier, self.plan.sample_rate)
               for sigma, rate, _ in self.accountant.history):
            raise HGymError("The privacy accountant holds steps of another noise level; the run's checkpoint does "
                            "not match its plan: start a new run.")
        if self._rdp_per_step is None:
            self._rdp_per_step = np.asarray(rdp.compute_rdp(q=self.plan.sample_rate,
                                                            noise_multiplier=self.plan.noise_multiplier, steps=1,
                                                            orders=RDPAccountant.DEFAULT_ALPHAS))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            epsilon, _ = rdp.get_privacy_spent(orders=RDPAccountant.DEFAULT_ALPHAS, rdp=self._rdp_per_step * steps,
                                               delta=self.plan.delta)
        return float(epsilon)

    def spent(self, n_critic: int) -> bool:
        """True when the next generator step's ``n_critic`` critic steps would spend more than ε."""
        return self.epsilon(self.steps + n_critic) > self.plan.epsilon * (1 + 1e-9)

    # --- one iteration ------------------------------------------------------------------------
    def iteration(self, generator: nn.Module, critic: nn.Module, g_opt: torch.optim.Optimizer,
                  d_opt: torch.optim.Optimizer, cohort: EncodedCohort, length: int, noise: torch.Generator,
                  padding: Padding | None = None) -> StepMetrics:
        """``n_critic`` private critic steps, then one generator step on fakes only (``noise``, the
        run's public stream: it reads no patient)."""
        config = self.config
        generator.train()
        critic.train()
        for _ in range(config.n_critic):
            terms = self.critic_step(generator, critic, d_opt, cohort, length, padding)
        critic.requires_grad_(False)
        try:
            zeros = torch.zeros(cohort.n_features, cohort.n_features, device=cohort.rows.device)
            g_loss, _ = generator_losses(generator, critic, config.batch_size, length, zeros, 0.0, config.corr_cap,
                                         noise, padding, config.static_weight, 1)
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
        finally:
            critic.requires_grad_(True)
        d_loss, gp, d_real, d_fake = terms.tolist()
        # Corr is 0: the correlation loss is off under DP (it would read the real correlations).
        return StepMetrics(d_loss, gp, d_real, d_fake, float(g_loss.detach()), 0.0)

    def critic_step(self, generator: nn.Module, critic: nn.Module, d_opt: torch.optim.Optimizer,
                    cohort: EncodedCohort, length: int, padding: Padding | None = None) -> Tensor:
        """One DP-SGD step of both critics (module docstring); returns the batch's mean terms [4]
        (loss, GP, D(real), D(fake)); draws, in order, from the private stream: the Poisson mask,
        the fakes, α, the static α, then the noise of each parameter in ``named_parameters`` order."""
        stream, plan = self.stream, self.plan
        device = stream.device
        chosen = torch.rand(cohort.n_patients, generator=stream, device=device) < plan.sample_rate
        index = chosen.nonzero().squeeze(1).cpu()
        summed = self.clipped_sum(generator, critic, cohort, index, length, padding)
        terms = summed.pop("__terms__")
        scale = plan.noise_multiplier * plan.clip
        for name, parameter in critic.named_parameters():
            noisy = summed[name] + scale * torch.randn(parameter.shape, generator=stream, device=device,
                                                       dtype=parameter.dtype)
            parameter.grad = noisy / plan.expected_batch
        d_opt.step()
        self.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
        return terms

    def clipped_sum(self, generator: nn.Module, critic: nn.Module, cohort: EncodedCohort, index: Tensor,
                    length: int, padding: Padding | None = None) -> dict[str, Tensor]:
        """The clipped per-patient gradients of the patients at ``index`` summed (before the noise),
        with their mean terms under "__terms__"; zeros for an empty batch."""
        stream, config = self.stream, self.config
        if len(index) == 0:
            sums = {name: torch.zeros_like(p) for name, p in critic.named_parameters()}
            return sums | {"__terms__": torch.zeros(4)}
        real = cohort.padded(index, length)   # at L: a patient's presence never changes another's input
        with torch.no_grad():
            fake = draw_fakes(generator, len(index), length, stream, at_least=length)
        alpha = torch.rand(len(index), 1, 1, generator=stream, device=stream.device, dtype=real.dtype)
        alpha_static = torch.rand(len(index), 1, generator=stream, device=stream.device, dtype=real.dtype)
        gradients, terms = per_patient_gradients(critic, real, fake, alpha, alpha_static, config.lambda_gp,
                                                 config.static_weight, padding)
        sums, _ = clip_and_sum(gradients, self.plan.clip)
        return sums | {"__terms__": terms.mean(dim=0).cpu()}

    # --- state and record ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"plan": asdict(self.plan), "history": [[float(s), float(q), int(n)] for s, q, n in self.accountant.history],
                "stream": self.stream.get_state(), "stream_device": str(self.stream.device)}

    def load_state_dict(self, state: dict, log=None) -> None:
        self.plan = PrivacyPlan(**state["plan"])   # the plan the run started with, whatever the epochs now
        self._rdp_per_step = None
        self.accountant.history = [(float(s), float(q), int(n)) for s, q, n in state["history"]]
        if torch.device(state["stream_device"]).type == self.stream.device.type:
            self.stream.set_state(state["stream"].cpu())
        else:   # a run moved between CPU and CUDA: a fresh secret stream (private still, not bit-exact)
            self.stream.manual_seed(secret_seed())
            if log:
                log(f"private noise stream reseeded from the operating system: the run moved to "
                    f"{self.stream.device.type}")

    def live(self) -> dict:
        return {"epsilon": self.epsilon(), "epsilon_target": self.plan.epsilon, "delta": self.plan.delta}

    def record(self, public: list[str]) -> dict:
        """run.json's account of the guarantee: what it spent, how, and what it treats as public."""
        plan = self.plan
        return {"on": True, "epsilon_target": plan.epsilon, "epsilon_spent": self.epsilon(), "delta": plan.delta,
                "delta_rule": "given" if self.config.dp_delta is not None else DELTA_WORDS,
                "clip_norm": plan.clip, "noise_multiplier": plan.noise_multiplier, "sample_rate": plan.sample_rate,
                "expected_batch": plan.expected_batch, "patients": plan.patients, "planned_steps": plan.planned_steps,
                "steps": self.steps, "accountant": ACCOUNTANT_WORDS, "sampling": "Poisson, per critic step",
                "unit": "patient", "covers": COVERS, "public": public, "not_covered": list(NOT_COVERED)}

    def plan_words(self) -> str:
        plan = self.plan
        return (f"differential privacy: epsilon {plan.epsilon:g} at delta {plan.delta:.2g} over {plan.planned_steps:,} "
                f"private critic steps (Poisson rate {plan.sample_rate:.3g}), noise multiplier {plan.noise_multiplier:.4g}, "
                f"clip norm {plan.clip:g}; {self.epsilon():.3f} spent so far")

    def end_words(self) -> str:
        return (f"its privacy budget (epsilon {self.plan.epsilon:g} at delta {self.plan.delta:.2g}) is spent: "
                f"epsilon {self.epsilon():.3f} after {self.steps:,} private critic steps")

