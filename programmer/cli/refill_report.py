"""``refill``'s text report and its bridge in JSON: the steps as done at the bedside, and the bridge bolus a new
concentration starts with the refill (docs/cli.md, refill --json)."""

from __future__ import annotations

from programmer.cli.bolus_report import bolus_outcome_json, bridge_line, status_command
from programmer.commit import SessionResult
from programmer.refill import RefillReview


def refill_text(review: RefillReview) -> str:
    """The refill's steps in lines: the withdrawal against the calculation, the syringe, the volume added."""
    withdrawal, syringe = review.withdrawal, review.request.syringe
    drug = syringe.drug
    lines = [f"Withdrawn     {withdrawal.withdrawn_ml:g} mL (the pump calculated {withdrawal.calculated_ml:.4g} mL: "
             f"{withdrawal.discrepancy_ml:+.3g} mL, tolerance {withdrawal.tolerance_ml:.3g} mL)",
             f"Syringe       {drug.name} {drug.concentration_per_ml:g} {drug.dose_unit}/mL, lot {syringe.lot}, "
             f"expiry {syringe.expiry.isoformat()}",
             f"Added         {review.request.added_ml:g} mL"]
    if review.request.withdrawal_reason is not None and not withdrawal.within_tolerance:
        lines.insert(1, f"Going on      {review.request.withdrawal_reason}")
    if review.bridge is not None:
        lines.append(bridge_line(review.bridge))
    return "\n".join(lines)


def refill_bridge_json(result: SessionResult, port: str) -> dict | None:
    """``refill --json``'s ``bridge``: the bridge sent with the refill, as reviewed and as the pump reported it; null
    for a refill without one."""
    review = result.review
    assert isinstance(review, RefillReview), "commit_refill's result holds its RefillReview"
    bridge = review.bridge
    if bridge is None:
        return None
    reported = None if result.refill is None else result.refill.bridge
    return {"bolus_id": result.bolus_id, "volume_ml": bridge.volume_ml,
            "concentration_per_ml": bridge.old_concentration_per_ml, "dose": bridge.dose,
            "duration_min": bridge.duration_min, "pump_reported": bolus_outcome_json(reported),
            "status_command": None if result.bolus_id is None else status_command(port, result.bolus_id)}
