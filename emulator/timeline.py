"""Playing a scenario: its steps happen at their simulated times as the pump's time passes, and its expectations
are checked there and reported.

Why inside the pump's time rather than beside it: the engine may run hours in one go (``--speed``, an ``advance``),
and a step due in the middle must land exactly at its time, not at the end of the run. So the pump hands every
forward run to the timeline (``Pump.advance``), which cuts it at each step due within it. The steps act through the
pump's own rules, as the control channel's actions do: the pump logs what it would log of each (an alarm raised, a
refill), nothing of the scenario itself. Scheduling is by simulated hours since the start, so a step that moves the
pump clock (a DST change) moves no step.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TextIO

from emulator.clock import wire_time
from emulator.events import events_total
from emulator.faults import FaultInjector, FaultSpec
from emulator.pump import Pump, PumpError
from emulator.scenario import (Advance, Battery, Expect, Faults, MoveClock, PressButton, Prime, Refill, Scenario,
                               Stall, Write, parse_program)


class ScenarioPlayer:
    """Plays ``scenario`` on ``pump`` from now; link-fault steps act on ``faults``. Reports each step and each
    expectation on ``out`` (the emulator's standard error), and keeps the results for ``report``."""

    def __init__(self, scenario: Scenario, pump: Pump, faults: FaultInjector, out: TextIO = sys.stderr):
        self.scenario = scenario
        self.pump = pump
        self.faults = faults
        self.out = out
        self.elapsed_s = 0.0
        self.done = 0
        """Steps carried out (the next one is ``scenario.timeline[done]``)."""
        self.results: list[dict] = []
        """One per expectation or failed step: ``at_hours``, ``step`` (its ``do``), ``met``, ``detail``."""
        self._first_event = events_total(pump.state)
        self._announced = False
        pump.timeline = self

    @property
    def finished(self) -> bool:
        return self.done == len(self.scenario.timeline)

    def start(self) -> None:
        """Carry out the steps due at hour 0."""
        self.run(self.pump, 0.0)

    def run(self, pump: Pump, seconds: float) -> None:
        """Run ``seconds`` forward, each step due on the way carried out at its time."""
        remaining = seconds
        timeline = self.scenario.timeline
        while self.done < len(timeline) and timeline[self.done].at_hours * 3600.0 <= self.elapsed_s + remaining:
            step = timeline[self.done]
            gap = max(0.0, step.at_hours * 3600.0 - self.elapsed_s)
            pump.run_engine(gap)
            self.elapsed_s += gap
            remaining -= gap
            self.done += 1
            self._carry_out(step)  # an advance runs the later steps itself, inside this call
            if self.finished and not self._announced:
                self._announced = True
                self._say(f"finished: {self.met} met, {self.failed} failed")
        pump.run_engine(remaining)
        self.elapsed_s += remaining

    @property
    def met(self) -> int:
        return sum(result["met"] for result in self.results)

    @property
    def failed(self) -> int:
        return sum(not result["met"] for result in self.results)

    def report(self) -> dict:
        """The scenario as the control channel's ``state`` shows it."""
        return {"name": self.scenario.name, "elapsed_hours": self.elapsed_s / 3600.0,
                "steps": len(self.scenario.timeline), "steps_done": self.done, "finished": self.finished,
                "met": self.met, "failed": self.failed, "results": list(self.results)}

    # -- the steps -------------------------------------------------------------------------------------------

    def _carry_out(self, step) -> None:
        if isinstance(step, Expect):
            self._check(step)
            return
        if isinstance(step, Advance):  # said first: the steps it runs through report inside it
            self._say(f"{step.at_hours:g} h: advance {step.hours:g} h")
        try:
            what = self._act(step)
        except PumpError as refusal:
            self._record(step.at_hours, step.do, False, f"the pump refused the step: {refusal.message}")
            return
        if not isinstance(step, Advance):
            self._say(f"{step.at_hours:g} h: {step.do}{what}")

    def _act(self, step) -> str:
        """Carry out one step through the pump's rules; what to add to its line in the report."""
        pump = self.pump
        if isinstance(step, Advance):
            pump.advance_hours(step.hours)
            return ""
        if isinstance(step, Battery):
            pump.set_battery(step.percent)
            return f" {step.percent:g} %"
        if isinstance(step, Stall):
            pump.set_stalled(step.do == "stall")
            return ""
        if isinstance(step, PressButton):
            press = pump.press_button()
            return ": granted" if press["granted"] else f": not granted ({press['reason']})"
        if isinstance(step, Faults):
            self.faults.replace(FaultSpec.parse(step.spec))
            return f" {step.spec or '(none)'}"
        if isinstance(step, MoveClock):
            moved = pump.state.pump_time + timedelta(hours=step.hours)
            pump.set_clock(moved.replace(microsecond=0))
            return f" {step.hours:+g} h to {wire_time(moved)}"
        if isinstance(step, Refill):
            pump.refill(f"scenario-{self.done}", step.withdrawn_ml, step.added_ml - step.pocket_ml, step.drug)
            pocket = f", {step.pocket_ml:g} mL into the pocket" if step.pocket_ml else ""
            return f" {step.added_ml - step.pocket_ml:g} mL into the reservoir{pocket}"
        if isinstance(step, Write):
            program = parse_program(step.program)
            pump.stage(program, "scenario")
            pump.commit(program.checksum(), "scenario")
            return f" {program.checksum()}"
        assert isinstance(step, Prime), f"a step the player does not know: {step!r}"
        volume = pump.state.spec.line_volume_ml(step.catheter_cm)
        pump.prime(f"scenario-prime-{self.done}", step.reason, step.catheter_cm, volume)
        return f" {volume:.3f} mL"

    def _check(self, expect: Expect) -> None:
        state = self.pump.state
        checked: list[str] = []
        wrong: list[str] = []

        def compare(ok: bool, what: str, expected: str) -> None:
            (checked if ok else wrong).append(what if ok else f"{what}, expected {expected}")

        if expect.alarms is not None:
            listed = sorted(alarm.code for alarm in state.alarms)
            compare(listed == sorted(expect.alarms), f"alarms {', '.join(listed) or 'none'}",
                    ", ".join(sorted(expect.alarms)) or "none")
        if expect.reservoir_ml is not None:
            compare(abs(state.volume_ml - expect.reservoir_ml) <= expect.tolerance_ml,
                    f"reservoir {state.volume_ml:.4f} mL", f"{expect.reservoir_ml:g} ± {expect.tolerance_ml:g} mL")
        if expect.battery_status is not None:
            status = self.pump.status()["battery"]["status"]
            compare(status == expect.battery_status, f"battery {status}", expect.battery_status)
        if expect.pump_time is not None:
            compare(wire_time(state.pump_time) == wire_time(expect.pump_time), f"pump time {wire_time(state.pump_time)}",
                    wire_time(expect.pump_time))
        if expect.faults is not None:
            compare(self.faults.spec.text() == FaultSpec.parse(expect.faults).text(),
                    f"faults {self.faults.spec.text() or 'none'}", expect.faults or "none")
        logged = [event for event in state.events if event.index >= self._first_event]
        for wanted in expect.events:
            found = any(event.kind == wanted.kind and all(event.detail.get(key) == value
                                                          for key, value in wanted.detail.items()) for event in logged)
            shown = wanted.kind + (f" {wanted.detail}" if wanted.detail else "")
            compare(found, f"event {shown}" + ("" if found else " not logged"), "it logged")
        self._record(expect.at_hours, "expect", not wrong, "; ".join(wrong or checked))

    def _record(self, at_hours: float, step: str, met: bool, detail: str) -> None:
        self.results.append({"at_hours": at_hours, "step": step, "met": met, "detail": detail})
        self._say(f"{at_hours:g} h: {'expectation met' if met and step == 'expect' else 'FAILED'}: {detail}")

    def _say(self, text: str) -> None:
        try:
            print(f"scenario {self.scenario.name}: {text}", file=self.out, flush=True)
        except (OSError, ValueError):
            pass  # nobody reads the report any more: the scenario plays on
