"""The fluid between the reservoir and the patient: the pump's tubing, then the catheter, as plug flow.

Why exact plug flow: after a concentration change the old drug is still in the tubing and catheter, and after an
implant or a revision they hold spinal fluid; what the patient gets lags what the motor moves by the line's volume.
Every mL the motor moves enters at the reservoir's concentration and pushes one mL out of the catheter tip, so
what leaves depends only on the volume moved, never on how time is cut into the engine's pieces. The contents
run from the tip first; adjacent parts of one concentration are one part, and the parts always add up to the
line's volume (the last part absorbs rounding).
"""

from __future__ import annotations

from emulator.spec import LINE_PART_MIN_ML
from emulator.state import LineContent, PumpState


def reservoir_concentration(state: PumpState) -> float:
    """What enters the line: the reservoir drug's concentration, 0 without a drug."""
    return state.drug.concentration_per_ml if state.drug is not None else 0.0


def merged(parts: list[LineContent]) -> list[LineContent]:
    """Adjacent parts of equal concentration as one, parts under LINE_PART_MIN_ML dropped."""
    result: list[LineContent] = []
    for part in parts:
        if part.volume_ml < LINE_PART_MIN_ML:
            continue
        if result and result[-1].concentration_per_ml == part.concentration_per_ml:
            result[-1] = LineContent(volume_ml=result[-1].volume_ml + part.volume_ml,
                                     concentration_per_ml=part.concentration_per_ml)
        else:
            result.append(part.model_copy())
    return result


def front_exit_ml(state: PumpState) -> float | None:
    """The volume the motor must move until the part at the tip has wholly left, or None when it never will (the line
    holds one part, of the reservoir's concentration: the same drug keeps coming)."""
    first = state.line[0]
    if len(state.line) == 1 and first.concentration_per_ml == reservoir_concentration(state):
        return None
    return first.volume_ml


def push(state: PumpState, volume_ml: float) -> list[float]:
    """Move ``volume_ml`` through the line at the reservoir's concentration, counting what leaves the tip.

    Returns the concentrations of the parts that have now wholly left the tip and differ from the reservoir's
    (each is a ``line_flushed``). A part left with under LINE_PART_MIN_ML at the tip is taken as gone."""
    if volume_ml <= 0:
        return []
    entering = reservoir_concentration(state)
    parts = [*state.line, LineContent(volume_ml=volume_ml, concentration_per_ml=entering)]
    left, dose, flushed = volume_ml, 0.0, []
    while left > 0 and parts:
        first = parts[0]
        if first.volume_ml - left <= LINE_PART_MIN_ML and len(parts) > 1:  # the entering part is always last
            dose += first.volume_ml * first.concentration_per_ml
            left -= first.volume_ml
            parts.pop(0)
            if first.concentration_per_ml != entering:
                flushed.append(first.concentration_per_ml)
        else:
            dose += left * first.concentration_per_ml
            parts[0] = LineContent(volume_ml=first.volume_ml - left, concentration_per_ml=first.concentration_per_ml)
            left = 0.0
    contents = merged(parts)
    # The parts add up to the line's volume by construction; the last one takes the rounding.
    others = sum(part.volume_ml for part in contents[:-1])
    contents[-1] = LineContent(volume_ml=state.line_volume_ml - others,
                               concentration_per_ml=contents[-1].concentration_per_ml)
    state.line = contents
    state.pumped_ml += volume_ml
    state.to_patient_ml += volume_ml
    state.to_patient_dose += dose
    return flushed


def line_answer(state: PumpState) -> dict:
    """READ_STATUS ``line``: the tubing and catheter, their contents (tip first) and the pump's counters."""
    return {
        "tubing_ml": state.spec.tubing_ml,
        "catheter_cm": state.catheter_cm,
        "volume_ml": state.line_volume_ml,
        "contents": [{"volume_ml": part.volume_ml, "concentration_per_ml": part.concentration_per_ml}
                     for part in state.line],
        "pumped_ml": state.pumped_ml,
        "to_patient_ml": state.to_patient_ml,
        "to_patient_dose": state.to_patient_dose,
        "dose_unit": None if state.drug is None else state.drug.dose_unit,
    }
