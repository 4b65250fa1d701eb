"""Capability indices and I-MR control limits of one measurement series. Pure functions.

Definitions as the AIAG SPC manual (2nd ed., ch. IV) gives them for individuals:

- overall sample standard deviation ``s`` (n - 1 in the denominator): Pp, Ppk (process performance);
- within-process sigma ``σ̂ = MR̄ / d2``, with MR̄ the mean of the moving ranges |xᵢ - xᵢ₋₁| and
  d2 = 1.128 (ranges of two): Cp, Cpk (process capability);
- Cp = (USL - LSL) / 6σ̂, CPU = (USL - x̄) / 3σ̂, CPL = (x̄ - LSL) / 3σ̂, Cpk = min(CPU, CPL);
  Pp, PPU, PPL, Ppk the same with ``s``.

A one-sided specification (only a lower or only an upper limit) has the one-sided index of its
side (Cpk = CPL or CPU, Ppk = PPL or PPU) and no Cp / Pp, which need both limits. What cannot be
computed is None, and ``notes`` says why: fewer than two points, no spread (every value equal), no
spec limits, or a result beyond what a float holds.

Control limits (individuals chart): x̄ ± 3σ̂, which is the textbook x̄ ± 2.66·MR̄ (2.66 = 3 / 1.128
rounded; the exact factor is used, so the limits are the same ±3σ̂ that Cp / Cpk and Nelson's rule 1
use); moving-range chart: UCL = D4·MR̄ with D4 = 3.267, LCL = 0 (D3 = 0 for ranges of two).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

D2 = 1.128  # expected range of two independent standard normal values
D4 = 3.267  # moving-range chart UCL factor for ranges of two
SIGMA_LIMIT = 3.0

# Why an index or limit is missing (stable codes, explained in the API answer).
TOO_FEW_POINTS = "too_few_points"
NO_SPREAD = "no_spread"
NO_SPEC_LIMITS = "no_spec_limits"
ONE_SIDED_SPEC = "one_sided_spec"
NOT_REPRESENTABLE = "not_representable"

NOTE_TEXT = {
    TOO_FEW_POINTS: "fewer than 2 points: no standard deviation, moving range or index",
    NO_SPREAD: "every value is the same: the standard deviation is 0, so no index and no sigma-based rule",
    NO_SPEC_LIMITS: "the process gives this measurement no spec limits: no capability index",
    ONE_SIDED_SPEC: "only one spec limit: Cpk and Ppk are the one-sided index of that side; Cp and Pp need both",
    NOT_REPRESENTABLE: "a result is too large to represent as a number: left out",
}


@dataclass(frozen=True)
class SpecLimits:
    lower: float | None = None
    upper: float | None = None
    target: float | None = None

    @property
    def two_sided(self) -> bool:
        return self.lower is not None and self.upper is not None

    @property
    def any(self) -> bool:
        return self.lower is not None or self.upper is not None


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    std_dev: float | None  # overall sample standard deviation (n - 1)
    mr_bar: float | None  # mean moving range of consecutive points
    sigma_within: float | None  # MR̄ / d2


@dataclass(frozen=True)
class Capability:
    cp: float | None = None
    cpk: float | None = None
    cpu: float | None = None
    cpl: float | None = None
    pp: float | None = None
    ppk: float | None = None
    ppu: float | None = None
    ppl: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControlLimits:
    """Limits of the I and MR charts, from a baseline of ``n`` points."""

    n: int
    centre_line: float | None
    sigma: float | None  # σ̂ = MR̄ / d2 of the baseline
    upper: float | None  # centre ± 3σ̂
    lower: float | None
    mr_centre_line: float | None  # MR̄
    mr_upper: float | None  # D4·MR̄
    mr_lower: float | None = field(default=None)  # 0 when MR̄ is known


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _scale_for(values: Sequence[float]) -> float:
    """A power of two that brings the largest magnitude into [0.5, 1): products and squares of the
    scaled values cannot overflow, and scaling by a power of two is exact."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest == 0.0 or not math.isfinite(largest):
        return 1.0
    return math.ldexp(1.0, -math.frexp(largest)[1])


@dataclass(frozen=True)
class _Scaled:
    """The statistics of values multiplied by ``scale``, so that nothing overflows on the way."""

    scale: float
    n: int
    mean: float | None
    std_dev: float | None
    mr_bar: float | None

    @classmethod
    def of(cls, values: Sequence[float], scale: float) -> _Scaled:
        xs = [v * scale for v in values]
        n = len(xs)
        if n == 0:
            return cls(scale, 0, None, None, None)
        # Deviations from the first value: a series of equal values has a mean of exactly that
        # value and a standard deviation of exactly 0 (a sum of n copies divided by n may not).
        origin = xs[0]
        offset = math.fsum(x - origin for x in xs) / n
        mean = origin + offset
        if n < 2:
            return cls(scale, n, mean, None, None)
        std_dev = math.sqrt(math.fsum((x - origin - offset) ** 2 for x in xs) / (n - 1))
        mr_bar = math.fsum(abs(b - a) for a, b in zip(xs, xs[1:], strict=False)) / (n - 1)
        return cls(scale, n, mean, std_dev, mr_bar)

    def unscaled(self, value: float | None) -> float | None:
        return None if value is None else _finite(value / self.scale)


def summarize(values: Sequence[float]) -> Summary:
    """n, mean, overall sample standard deviation, MR̄ and σ̂ = MR̄ / d2 of a series in time order."""
    s = _Scaled.of(values, _scale_for(values))
    sigma = None if s.mr_bar is None else s.mr_bar / D2
    return Summary(s.n, s.unscaled(s.mean), s.unscaled(s.std_dev), s.unscaled(s.mr_bar), s.unscaled(sigma))


def _indices(
    mean: float, sigma: float, spec: SpecLimits, scale: float
) -> tuple[float | None, float | None, float | None, float | None]:
    """(two-sided index, lower-side index, upper-side index, the worse side) for one sigma."""
    low = None if spec.lower is None else spec.lower * scale
    high = None if spec.upper is None else spec.upper * scale
    lower_side = None if low is None else _finite((mean - low) / (3 * sigma))
    upper_side = None if high is None else _finite((high - mean) / (3 * sigma))
    both = None if low is None or high is None else _finite((high - low) / (6 * sigma))
    sides = [v for v in (lower_side, upper_side) if v is not None]
    return both, lower_side, upper_side, (min(sides) if sides else None)


def capability(values: Sequence[float], spec: SpecLimits) -> Capability:
    """Cp, Cpk (within sigma) and Pp, Ppk (overall sigma) of a series against its spec limits."""
    notes: list[str] = []
    if not spec.any:
        notes.append(NO_SPEC_LIMITS)
    elif not spec.two_sided:
        notes.append(ONE_SIDED_SPEC)
    if len(values) < 2:
        return Capability(notes=(*notes, TOO_FEW_POINTS))
    limits = [v for v in (spec.lower, spec.upper) if v is not None]
    s = _Scaled.of(values, _scale_for([*values, *limits]))
    assert s.mean is not None and s.std_dev is not None and s.mr_bar is not None  # n >= 2
    if s.std_dev == 0.0 or s.mr_bar == 0.0:
        return Capability(notes=(*notes, NO_SPREAD))
    if not spec.any:
        return Capability(notes=tuple(notes))
    cp, cpl, cpu, cpk = _indices(s.mean, s.mr_bar / D2, spec, s.scale)
    pp, ppl, ppu, ppk = _indices(s.mean, s.std_dev, spec, s.scale)
    expected = 4 if spec.two_sided else 2  # Cp, Cpk, Pp and Ppk; or Cpk and Ppk
    if sum(v is not None for v in (cp, cpk, pp, ppk)) < expected:
        notes.append(NOT_REPRESENTABLE)
    return Capability(cp, cpk, cpu, cpl, pp, ppk, ppu, ppl, tuple(notes))


def control_limits(baseline: Sequence[float]) -> ControlLimits:
    """I-MR limits from a baseline series (the process as it was when judged in control)."""
    s = _Scaled.of(baseline, _scale_for(baseline))
    if s.mean is None:
        return ControlLimits(0, None, None, None, None, None, None)
    centre = s.unscaled(s.mean)
    if s.mr_bar is None:
        return ControlLimits(s.n, centre, None, None, None, None, None)
    sigma = s.mr_bar / D2
    return ControlLimits(
        n=s.n,
        centre_line=centre,
        sigma=s.unscaled(sigma),
        upper=s.unscaled(s.mean + SIGMA_LIMIT * sigma),
        lower=s.unscaled(s.mean - SIGMA_LIMIT * sigma),
        mr_centre_line=s.unscaled(s.mr_bar),
        mr_upper=s.unscaled(D4 * s.mr_bar),
        mr_lower=0.0,
    )


def moving_ranges(values: Sequence[float]) -> list[float | None]:
    """|xᵢ - xᵢ₋₁| per point (None for the first, and where it is too large to represent)."""
    if not values:
        return []
    return [None, *(_finite(abs(b - a)) for a, b in zip(values, values[1:], strict=False))]
