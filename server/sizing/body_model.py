"""Body model: a per-sex Gaussian mixture over log body measurements (+ age), and the belief about one body.

Every measurement is modelled in log space (girths and lengths scale multiplicatively with size, so log
makes the joint close to Gaussian and the spread proportional to size). Knowing any measurement
sharpens every other through the covariance. A belief is a mixture of Gaussians; conditioning on an
entered value is an exact Gaussian update per component (weights re-scored by how well each component
explains the value), and one-sided feedback ("too tight at the chest") is an assumed-density-filtering
step: the truncated-normal moments are projected back onto each Gaussian.
Pure numpy, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from server.sizing.measurements import AGE, MEASUREMENTS, SEXES

VARIABLES: tuple[str, ...] = (*MEASUREMENTS, AGE)
INDEX: dict[str, int] = {name: i for i, name in enumerate(VARIABLES)}
_LOGGED = np.array([name != AGE for name in VARIABLES])


def to_model_space(name: str, value: float) -> float:
    return math.log(value) if name != AGE else float(value)


def to_model_array(values: np.ndarray) -> np.ndarray:
    """(n, len(VARIABLES)) in cm/kg/years -> model space."""
    out = np.array(values, dtype=float, copy=True)
    out[:, _LOGGED] = np.log(out[:, _LOGGED])
    return out


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def _log_normal_cdf(z: np.ndarray) -> np.ndarray:
    # Stable for very negative z, where the cdf underflows.
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    low = z < -5.0
    out[~low] = np.log(np.maximum(_normal_cdf(z[~low]), 1e-300))
    zl = z[low]
    out[low] = -0.5 * zl**2 - np.log(-zl) - 0.5 * math.log(2 * math.pi) + np.log1p(-1.0 / zl**2)
    return out


@dataclass(frozen=True)
class Marginal:
    """One measurement's estimate in cm (kg for weight, years for age)."""

    mean: float
    std: float


@dataclass
class Belief:
    """A Gaussian mixture over the model variables (log space for measurements)."""

    weights: np.ndarray  # (k,)
    means: np.ndarray  # (k, d)
    covs: np.ndarray  # (k, d, d)
    observed: dict[str, float] = field(default_factory=dict)

    def copy(self) -> Belief:
        return Belief(self.weights.copy(), self.means.copy(), self.covs.copy(), dict(self.observed))

    def condition(self, name: str, value: float, noise_sd: float = 0.0) -> Belief:
        """Gaussian observation of one variable (value in cm/kg/years; noise_sd in the same unit)."""
        i = INDEX[name]
        y = to_model_space(name, value)
        r = (noise_sd / value) ** 2 if name != AGE else noise_sd**2
        r = max(r, 1e-10)  # an exact value is a limit; keep the algebra finite
        out = self.copy()
        log_evidence = np.empty(len(out.weights))
        for c in range(len(out.weights)):
            s = out.covs[c, i, i] + r
            innovation = y - out.means[c, i]
            gain = out.covs[c, :, i] / s
            out.means[c] += gain * innovation
            out.covs[c] -= np.outer(gain, out.covs[c, i, :])
            out.covs[c] = 0.5 * (out.covs[c] + out.covs[c].T)
            log_evidence[c] = -0.5 * (innovation**2 / s + math.log(2 * math.pi * s))
        out._reweight(log_evidence)
        if noise_sd == 0.0:
            out.observed[name] = float(value)
        return out

    def condition_many(self, values: Mapping[str, float]) -> Belief:
        belief = self
        for name, value in values.items():
            belief = belief.condition(name, value)
        return belief

    def constrain(self, name: str, threshold: float, above: bool, softness: float) -> Belief:
        """Soft one-sided evidence: the variable is above (or below) threshold, give or take `softness`.

        Moment matching of the truncated normal, then the change of the marginal is propagated to the
        other variables by their covariance (exact for a Gaussian, the ADF step for a mixture).
        """
        i = INDEX[name]
        t = to_model_space(name, threshold)
        r = (softness / threshold) ** 2 if name != AGE else softness**2
        sign = 1.0 if above else -1.0
        out = self.copy()
        log_evidence = np.empty(len(out.weights))
        for c in range(len(out.weights)):
            m, v = out.means[c, i], out.covs[c, i, i]
            s = math.sqrt(v + r)
            z = sign * (m - t) / s
            log_phi_cdf = float(_log_normal_cdf(np.array([z]))[0])
            lam = math.exp(-0.5 * z * z - 0.5 * math.log(2 * math.pi) - log_phi_cdf)  # pdf/cdf
            new_m = m + sign * v * lam / s
            new_v = v * (1.0 - v / (v + r) * lam * (lam + z))
            new_v = max(new_v, 1e-12)
            col = out.covs[c, :, i].copy()
            out.means[c] += col / v * (new_m - m)
            out.covs[c] += np.outer(col, col) / v**2 * (new_v - v)
            out.covs[c] = 0.5 * (out.covs[c] + out.covs[c].T)
            log_evidence[c] = log_phi_cdf
        out._reweight(log_evidence)
        return out

    def _reweight(self, log_evidence: np.ndarray) -> None:
        logw = np.log(np.maximum(self.weights, 1e-300)) + log_evidence
        logw -= logw.max()
        w = np.exp(logw)
        self.weights = w / w.sum()

    def marginal(self, name: str) -> Marginal:
        i = INDEX[name]
        mu, var = self.means[:, i], self.covs[:, i, i]
        if name == AGE:
            mean = float(self.weights @ mu)
            second = float(self.weights @ (var + mu**2))
        else:  # log-normal moments
            mean = float(self.weights @ np.exp(mu + var / 2))
            second = float(self.weights @ np.exp(2 * mu + 2 * var))
        return Marginal(mean, math.sqrt(max(second - mean**2, 0.0)))

    def cdf(self, name: str, values: np.ndarray) -> np.ndarray:
        """P(variable < value) for each value (cm/kg/years); an entered value is exact."""
        values = np.asarray(values, dtype=float)
        if name in self.observed:
            return (self.observed[name] < values).astype(float)
        i = INDEX[name]
        x = np.log(np.maximum(values, 1e-9)) if name != AGE else values
        z = (x[None, :] - self.means[:, i, None]) / np.sqrt(self.covs[:, i, i])[:, None]
        return self.weights @ _normal_cdf(z)

    def marginals(self, names: Iterable[str] = VARIABLES) -> dict[str, Marginal]:
        return {name: self.marginal(name) for name in names}

    def sample(self, names: Sequence[str], n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, len(names)) draws in cm/kg/years."""
        idx = [INDEX[name] for name in names]
        counts = rng.multinomial(n, self.weights)
        parts = []
        for c, count in enumerate(counts):
            if count == 0:
                continue
            cov = self.covs[c][np.ix_(idx, idx)]
            parts.append(rng.multivariate_normal(self.means[c, idx], cov, size=count, method="cholesky"))
        draws = np.concatenate(parts)
        logged = np.array([name != AGE for name in names])
        draws[:, logged] = np.exp(draws[:, logged])
        for j, name in enumerate(names):
            if name in self.observed:  # an entered value is exact, also on a size boundary
                draws[:, j] = self.observed[name]
        return draws


@dataclass
class BodyModel:
    """Fitted per-sex mixtures in model space."""

    components: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # sex -> (weights, means, covs)
    meta: dict[str, object] = field(default_factory=dict)

    def prior(self, sex: str | None) -> Belief:
        """The population belief for a sex; None mixes both sexes half and half."""
        if sex is not None:
            w, m, c = self.components[sex]
            return Belief(w.copy(), m.copy(), c.copy())
        ws, ms, cs = [], [], []
        for s in SEXES:
            w, m, c = self.components[s]
            ws.append(w / len(SEXES))
            ms.append(m)
            cs.append(c)
        return Belief(np.concatenate(ws), np.concatenate(ms), np.concatenate(cs))

    def belief(self, sex: str | None, known: Mapping[str, float]) -> Belief:
        return self.prior(sex).condition_many(known)

    def estimate(self, sex: str | None, known: Mapping[str, float]) -> dict[str, Marginal]:
        return self.belief(sex, known).marginals()

    @classmethod
    def fit(cls, data: Mapping[str, np.ndarray], n_components: int = 1, seed: int = 0) -> BodyModel:
        """data: sex -> (n, len(VARIABLES)) array in cm/kg/years."""
        comps = {}
        for sex, rows in data.items():
            x = to_model_array(rows)
            comps[sex] = fit_mixture(x, n_components, np.random.default_rng(seed))
        return cls(comps, {"n_components": n_components, "variables": list(VARIABLES)})

    def to_dict(self) -> dict[str, object]:
        return {
            "variables": list(VARIABLES),
            "space": "natural log of every measurement (cm, weight kg); age in years, not logged",
            "meta": self.meta,
            "sexes": {
                sex: {"weights": w.tolist(), "means": m.tolist(), "covariances": c.tolist()}
                for sex, (w, m, c) in self.components.items()
            },
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> BodyModel:
        if list(doc["variables"]) != list(VARIABLES):  # type: ignore[call-overload]
            raise ValueError("model_params.json was made for other variables; re-run python -m server.sizing.fit")
        comps = {}
        for sex, p in doc["sexes"].items():  # type: ignore[union-attr]
            comps[sex] = (np.array(p["weights"]), np.array(p["means"]), np.array(p["covariances"]))
        return cls(comps, dict(doc.get("meta", {})))  # type: ignore[arg-type]


def fit_mixture(
    x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 200, ridge: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-covariance Gaussian mixture by EM (k = 1 is the plain multivariate normal)."""
    n, d = x.shape
    if k == 1:
        cov = np.cov(x, rowvar=False) + ridge * np.eye(d)
        return np.ones(1), x.mean(axis=0)[None, :], cov[None, :, :]
    # Initialise responsibilities by k-means++ seeds on standardised data.
    z = (x - x.mean(0)) / x.std(0)
    centres = [z[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min([((z - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(z[rng.choice(n, p=d2 / d2.sum())])
    labels = np.argmin([((z - c) ** 2).sum(1) for c in centres], axis=0)
    resp = np.eye(k)[labels]
    previous = -np.inf
    for _ in range(iterations):
        nk = resp.sum(0) + 1e-9
        weights = nk / n
        means = resp.T @ x / nk[:, None]
        covs = np.empty((k, d, d))
        for c in range(k):
            diff = x - means[c]
            covs[c] = (resp[:, c, None] * diff).T @ diff / nk[c] + ridge * np.eye(d)
        log_p = np.stack([np.log(weights[c]) + _mvn_logpdf(x, means[c], covs[c]) for c in range(k)], axis=1)
        top = log_p.max(1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(log_p - top).sum(1))
        resp = np.exp(log_p - log_norm[:, None])
        total = float(log_norm.sum())
        if total - previous < 1e-6 * abs(total):
            break
        previous = total
    return weights, means, covs


def _mvn_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    chol = np.linalg.cholesky(cov)
    sol = np.linalg.solve(chol, (x - mean).T)
    return -0.5 * (sol**2).sum(0) - np.log(np.diag(chol)).sum() - 0.5 * x.shape[1] * math.log(2 * math.pi)
