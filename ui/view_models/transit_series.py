"""The numbers the Bolus page's plots draw: what the pump moves and what reaches the patient through a transition,
with and without the change, from the domain's exact ``Transit`` (``programmer.dead_volume``). No Qt.

A bolus, a prime or a bridge changes the dose the patient gets for hours or days, and not when the pump changes
its rate: the line (pump tubing and catheter) is full, so what the patient gets first is what was in it. The plots
show three things over the same hours from now: the dose rate reaching the patient, the pump's rate in mL/h and the
reservoir, each with the change and as it would be without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer.bolus import BolusReview, BridgeReview, PrimeReview
from programmer.dead_volume import Bolus, Prime, Transit
from programmer.review import Review
from programmer.snapshot import PumpSnapshot

DAY_MIN = 24 * 60.0
LONGEST_MIN = 14 * DAY_MIN
"""The longest span drawn: a bridge at a small daily dose takes days; beyond two weeks the plot says nothing more."""
MARGIN = 1.25
"""The span drawn reaches a quarter past the last moment that matters (the line flushed, the bolus ended)."""
RESERVOIR_POINTS = 200


@dataclass(frozen=True)
class TransitSeries:
    """Step series (``hours`` are edges, one more than each rate list) and the reservoir at ``reservoir_hours``."""

    hours: list[float]
    patient_dose_per_hour: list[float]
    pump_ml_per_hour: list[float]
    reservoir_hours: list[float]
    reservoir_ml: list[float]
    flushed_at_h: float | None
    """When the line's old content has left the catheter, h; None when there is none (or it never leaves)."""


def span_min(*transits: Transit) -> float:
    """The span to draw: a day at least, past the last transit's flushed line and special flow, two weeks at most."""
    ends = [DAY_MIN]
    for transit in transits:
        ends += [MARGIN * at for at in (transit.flushed_at, transit.flow_end_min) if at]
    return min(max(ends), LONGEST_MIN)


def transit_series(transit: Transit, minutes: float) -> TransitSeries:
    steps = transit.patient_rate_steps(minutes)
    hours = [steps[0].start_min / 60] if steps else []
    hours += [step.end_min / 60 for step in steps]
    times = [minutes * n / RESERVOIR_POINTS for n in range(RESERVOIR_POINTS + 1)]
    flushed = transit.flushed_at  # 0 when the line holds only the reservoir's drug: nothing to mark then
    return TransitSeries(hours, [step.patient_dose_per_hour for step in steps],
                         [step.pump_ml_per_hour for step in steps], [t / 60 for t in times],
                         [transit.volume_at(t) for t in times], flushed / 60 if flushed else None)


def running(snapshot: PumpSnapshot) -> Bolus | Prime | None:
    """The rest of the bolus the pump reports running, as the flow it adds from now (a therapeutic or demand bolus on
    top of the program, a prime instead of it); None for none, and for a bridge, whose rate follows the program."""
    bolus, drug = snapshot.status.bolus, snapshot.active.drug
    if bolus is None or drug is None or bolus.remaining_s <= 0 or bolus.delivered >= bolus.dose:
        return None
    left_ml = (bolus.dose - bolus.delivered) / drug.concentration_per_ml
    if bolus.kind == "prime":
        return Prime(left_ml)
    return None if bolus.kind == "bridge" else Bolus(left_ml, bolus.remaining_s / 60)


def transits(snapshot: PumpSnapshot, review: Review | None) -> tuple[Transit | None, Transit | None]:
    """What reaches the patient without the change and with the one reviewed (None where there is nothing to draw):
    the reviews' own transits, and the pump's line as it reports it for the program and the rest of a running
    bolus."""
    plan, line = snapshot.forecast(), snapshot.status.line
    without = None if plan is None or line is None else Transit(plan, line.contents, running(snapshot))
    if isinstance(review, BridgeReview):
        return review.transit_without, review.transit
    if isinstance(review, PrimeReview):
        return without, review.transit
    if isinstance(review, BolusReview):
        return without, review.plan_with_bolus
    return without, None
