"""The Overview: everything the pump reported at interrogation, in words and numbers.

Dates come from the planner run from the pump's own clock, volume and cycle phase
(``PumpSnapshot.forecast``), so they are the dates the pump itself will reach, in the pump's clock. Every
date on the page is on that one clock and says so; this computer's clock appears only in the drift.

The refill-by date (``programmer.refill_by``: the low alarm less a week, the drug's stability limit from the
last fill, or the battery's end of service) is shown with its reason, and can be saved as a calendar reminder
(``programmer.refill_reminder``); at ERI the battery's replace-by date is shown too.

Setting the pump's clock is asked for here (the button, or ``ask_to_set_clock`` from the window's menu and
banner) and always confirmed first (``ui.clock_dialog``): ``set_clock_requested`` is emitted only when the
clinician chose Set. So is setting the low-reservoir alarm threshold, in the Reservoir box under its figure
(``ui.low_alarm_dialog``): ``low_alarm_requested`` carries the threshold only once it was checked and confirmed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from programmer.clock import computer_now
from programmer.library import LoadedLibrary, load_library
from programmer.clock_changes import ClockChange, snapshot_clock_changes
from programmer.refill_by import REASON_WORDS, RefillBy, replace_by, snapshot_refill_by
from programmer.refill_reminder import reminder_calendar, save_reminder
from programmer.snapshot import CLOCK_DRIFT_LIMIT_S, PumpSnapshot
from ui.view_models.clock_check import clock_change
from ui.clock_dialog import ClockDialog
from ui.events import ask_save_path, documents_folder
from ui.low_alarm_dialog import LowAlarmDialog
from ui.view_models.comparison import schedule_text
from ui.view_models.demand_use import USE_DAYS, settings_text, use_text
from ui.view_models.draft import MODE_LABELS
from ui.view_models.format import (BATTERY_WORDS, NOT_APPLICABLE, PUMP_CLOCK, SEVERITY_WORDS, alarm_text, dated, drift,
                                   moment_and_days, number, quantity)
from ui.view_models.low_alarm import SET_LOW_ALARM_TEXT, LowAlarmChange
from ui.view_models.palette import BANNER
from ui.widgets import FactGrid, WrappingLabel, heading

DRIFT_WORTH_FIXING_S = CLOCK_DRIFT_LIMIT_S
"""Beyond this drift the page warns that the clock needs setting: the limit of the CLOCK_DRIFT check, so
the Overview and a review never disagree (``PumpSnapshot.clock_drifts`` decides with it)."""


class OverviewPage(QWidget):
    """Besides the reading: the patient's demand dose and its use over the last days (``show_demand``)."""

    set_clock_requested = Signal()
    low_alarm_requested = Signal(float)  # the new threshold, mL, checked and confirmed
    interrogate_requested = Signal()
    edit_requested = Signal()
    reminder_saved = Signal(str)
    reminder_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, library: LoadedLibrary | None = None):
        super().__init__(parent)
        self.library = library if library is not None else load_library()
        """The library whose stability limits bound the refill-by date: the application's."""
        self.refill: RefillBy | None = None
        self.choose_path: Callable[[QWidget, Path], Path | None] = lambda parent, suggested: ask_save_path(
            parent, suggested, "Save the refill reminder as a calendar file", "Calendar files (*.ics)")
        """The file dialog, replaceable so that tests never open a real one."""
        layout = QVBoxLayout(self)
        self.title = heading("No pump interrogated yet")
        layout.addWidget(self.title)
        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout.addLayout(columns)

        self.pump = self._group(left, "Pump", [("identity", "Model and serial"), ("limits", "Limits it declares"),
                                               ("battery", "Battery")])
        self.clock = self._group(left, "Clock", [("pump_time", "Pump time"), ("drift", "Drift")])
        self.clock_note = WrappingLabel()
        self.clock_note.setStyleSheet(f"color: {BANNER['warning'][1]};")
        self.clock.addRow("", self.clock_note)
        self.clock_changes: list[ClockChange] = []
        """The DST changes before the refill-by date (``programmer.clock_changes``), shown under the clock."""
        self.dst_note = WrappingLabel()
        self.dst_note.setAccessibleName("Clock changes ahead")
        self.dst_note.setStyleSheet(f"color: {BANNER['warning'][1]};")
        self.dst_note.setVisible(False)
        self.clock.addRow("", self.dst_note)
        # Alt+K: Alt+C is "Change the program"; two buttons on one letter make the first press only move the
        # focus, and a Space after it would then set the clock. T and S are the banner's.
        self.set_clock = QPushButton("Set the pump cloc&k to this computer's time\u2026")
        self.set_clock.clicked.connect(self.ask_to_set_clock)
        self.clock.addRow("", self.set_clock)
        self.snapshot: PumpSnapshot | None = None
        self.clock_dialog: ClockDialog | None = None

        self.reservoir = self._group(left, "Reservoir", [("volume", "Volume (calculated by the pump)"),
                                                         ("low_alarm", "Low-reservoir alarm"), ("empty", "Empty")])
        self.fill = QProgressBar()
        self.fill.setAccessibleName("Reservoir volume against capacity")
        self.set_low_alarm = QPushButton(SET_LOW_ALARM_TEXT)
        self.set_low_alarm.setToolTip("Change the volume left when the pump starts to alarm (asks first, showing "
                                      "what it means in days and dates)")
        self.set_low_alarm.clicked.connect(self.ask_to_set_low_alarm)
        # Under the volume and its "low alarm at" figure, in the label column beside the bar: a row of its own
        # would leave the Overview too tall for the smallest window (1024 x 700) with the clock banner over it.
        self.reservoir.insertRow(1, self.set_low_alarm, self.fill)
        self.low_alarm_dialog: LowAlarmDialog | None = None
        self.therapy = self._group(right, "Drug and program", [("drug", "Drug"), ("mode", "Mode"),
                                                               ("daily", "Daily dose"), ("volume", "Volume"),
                                                               ("schedule", "Schedule"), ("checksum", "Program id")])
        self.alarms = self._group(right, "Alarms", [("critical", "Critical"), ("non_critical", "Non-critical"),
                                                    ("bolus", "Bolus")])
        self.demand = self._group(right, "Patient demand dose", [("settings", "Settings"),
                                                                 ("use", f"Use, last {USE_DAYS} days")])
        self.demand.set("settings", "not read yet")

        self.next_visit = self._group(right, "Next visit", [("refill_by", "Refill by"), ("replace_by", "Replace by")])
        self.save_reminder = QPushButton("Save refill re&minder\u2026")
        self.save_reminder.setToolTip("Save the refill-by date as a calendar event (.ics) to import into a calendar")
        self.save_reminder.clicked.connect(self._save_reminder)
        self.next_visit.addRow("", self.save_reminder)
        self.reminder_note = WrappingLabel()
        self.reminder_note.setVisible(False)
        self.next_visit.addRow("", self.reminder_note)
        right.addStretch(1)
        left.addStretch(1)

        buttons = QHBoxLayout()
        self.refresh = QPushButton("&Interrogate again")
        self.refresh.setToolTip("Read everything from the pump again (F5)")
        self.refresh.clicked.connect(self.interrogate_requested)
        self.edit = QPushButton("&Change the program…")
        self.edit.clicked.connect(self.edit_requested)
        buttons.addWidget(self.refresh)
        buttons.addStretch(1)
        buttons.addWidget(self.edit)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.setEnabled(False)

    def _group(self, column: QVBoxLayout, title: str, rows: list[tuple[str, str]]) -> FactGrid:
        box = QGroupBox(title)
        grid = FactGrid()
        for key, label in rows:
            grid.row(key, label)
        box.setLayout(grid)
        column.addWidget(box)
        return grid

    def show_snapshot(self, snapshot: PumpSnapshot) -> None:
        self.setEnabled(True)
        self.snapshot = snapshot
        identity, status, active = snapshot.identity, snapshot.status, snapshot.active
        plan = snapshot.forecast()
        self.title.setText(f"Pump {identity.model} serial {identity.serial}, interrogated at "
                           f"{dated(status.pump_time, PUMP_CLOCK)}")
        self.pump.set("identity", f"{identity.model}, serial {identity.serial}, firmware {identity.firmware}, "
                                  f"{quantity(identity.capacity_ml, 'mL')} reservoir")
        self.pump.set("limits", f"flow {number(identity.min_rate_ml_per_day)} to "
                                f"{quantity(identity.max_rate_ml_per_day, 'mL/day')}; up to "
                                f"{identity.max_steps_per_day} flex steps a day; cycles up to "
                                f"{identity.max_cycle_days} days")
        self.pump.set("battery", f"{BATTERY_WORDS.get(status.battery_status, status.battery_status)} "
                                 f"({quantity(status.battery_percent, '%', 3)})")
        replace = replace_by(status)
        self.next_visit.set("replace_by", "not projected while the battery is OK" if replace is None else
                            f"{dated(replace, PUMP_CLOCK)}\nthe battery's projected end of service")
        self.clock.set("pump_time", dated(status.pump_time, PUMP_CLOCK))
        self.clock.set("drift", drift(snapshot.drift_s))
        self.clock_note.setText(f"Warning: more than {DRIFT_WORTH_FIXING_S // 60} min out. Flex steps start by the "
                                "pump's clock: set it." if snapshot.clock_drifts else "")

        self.fill.setRange(0, int(round(status.capacity_ml * 10)))
        self.fill.setValue(int(round(status.volume_ml * 10)))
        self.fill.setFormat(f"{number(status.volume_ml, 3)} of {quantity(status.capacity_ml, 'mL')}")
        self.reservoir.set("volume", f"{quantity(status.volume_ml, 'mL')} of {quantity(status.capacity_ml, 'mL')}; "
                                     f"low alarm at {quantity(status.low_alarm_ml, 'mL')}")
        self.reservoir.set("low_alarm", "no program" if plan is None else
                           moment_and_days(plan.low_alarm_at, plan.minutes_to_low_alarm, PUMP_CLOCK))
        self.reservoir.set("empty", "no program" if plan is None else
                           moment_and_days(plan.empty_at, plan.minutes_to_empty, PUMP_CLOCK))
        if snapshot.stopped_by:  # a pump that delivers nothing counts nothing down: no dates
            for key in ("low_alarm", "empty"):
                self.reservoir.set(key, "none: the pump is NOT DELIVERING (see Alarms)")

        self.refill = snapshot_refill_by(snapshot, self.library)
        self.next_visit.set("refill_by", "none: the pump holds no drug" if self.refill is None else
                           f"{dated(self.refill.at, PUMP_CLOCK)}\nset by {REASON_WORDS[self.refill.reason]}")
        self.save_reminder.setEnabled(self.refill is not None)
        self.clock_changes = snapshot_clock_changes(snapshot, None if self.refill is None else self.refill.at)
        self.dst_note.setText("\n".join(f"Warning: {change.message()}" for change in self.clock_changes))
        self.dst_note.setVisible(bool(self.clock_changes))
        self.reminder_note.setVisible(False)

        drug = active.drug
        self.therapy.set("drug", "none: the pump holds no drug (refill it first)" if drug is None else
                         f"{drug.name} {quantity(drug.concentration_per_ml, f'{drug.dose_unit}/mL')}")
        mode = str(active.therapy.get("mode"))  # the pump's JSON: a mode's name, or anything when unknown
        self.therapy.set("mode", MODE_LABELS.get(mode, mode))
        unit = drug.dose_unit if drug else ""
        self.therapy.set("daily", quantity(plan.mean_daily_dose if plan else None, f"{unit}/day"))
        self.therapy.set("volume", quantity(plan.ml_per_day if plan else None, "mL/day"))
        self.therapy.set("schedule", schedule_text(active.program))
        self.therapy.set("checksum", active.checksum)

        for severity in ("critical", "non_critical"):
            alarms = [a for a in status.alarms if a.severity == severity]
            self.alarms.set(severity, "\n".join(f"{SEVERITY_WORDS[severity]}: {alarm_text(a.code)} (since "
                                                f"{dated(a.since, PUMP_CLOCK)})" for a in alarms) or "none")
        bolus = status.bolus
        self.alarms.set("bolus", "none running" if bolus is None else
                        f"{number(bolus.delivered)} of {quantity(bolus.dose, unit)} delivered, "
                        f"{quantity(round(bolus.remaining_s / 60), 'min')} left")
        self.edit.setEnabled(drug is not None)

    def show_demand(self, reading) -> None:
        """The demand dose as read with the last interrogation (``ui.link.DemandReading``), and its use a day."""
        self.demand.set("settings", settings_text(reading.settings))
        self.demand.set("use", NOT_APPLICABLE if reading.settings is None else
                        use_text(reading.events, reading.pump_time))

    def _save_reminder(self) -> None:
        """Ask where, then write the refill reminder whole or not at all, and say which happened."""
        snapshot, refill = self.snapshot, self.refill
        if snapshot is None or refill is None or snapshot.active.drug is None:
            return
        serial = snapshot.identity.serial
        path = self.choose_path(self, documents_folder() / f"{serial}-refill-by-{refill.at.date().isoformat()}.ics")
        if path is None:
            return
        try:
            save_reminder(path, reminder_calendar(serial, snapshot.active.drug, refill, computer_now()))
        except OSError as exc:
            message = f"The refill reminder was NOT saved to {path}: {exc.strerror or exc}."
            signal = self.reminder_failed
        else:
            message = f"Saved the refill reminder ({dated(refill.at, PUMP_CLOCK)}) to {path}."
            signal = self.reminder_saved
        self.reminder_note.setText(message)
        self.reminder_note.setVisible(True)
        signal.emit(message)

    def ask_to_set_clock(self) -> None:
        """Show the confirmation (``ui.clock_dialog``) for the pump last shown; ``set_clock_requested`` is
        emitted only if the clinician chooses Set. The window's menu item and banner action call this too,
        so no path sets the clock unconfirmed."""
        if self.snapshot is None or self.clock_dialog is not None:
            return
        dialog = ClockDialog(clock_change(self.snapshot, computer_now()), self,
                             [change.message() for change in self.clock_changes[:1]])
        dialog.accepted.connect(self.set_clock_requested)
        dialog.finished.connect(self._clock_dialog_closed)
        self.clock_dialog = dialog
        dialog.open()

    def _clock_dialog_closed(self) -> None:
        dialog, self.clock_dialog = self.clock_dialog, None
        assert dialog is not None, "only the dialog ask_to_set_clock keeps is connected here"
        dialog.deleteLater()

    def ask_to_set_low_alarm(self) -> None:
        """Show the dialog (``ui.low_alarm_dialog``) for the pump last shown; ``low_alarm_requested`` is emitted
        only with a threshold the pump's model takes, confirmed and set by its Set button."""
        if self.snapshot is None or self.low_alarm_dialog is not None:
            return
        dialog = LowAlarmDialog(LowAlarmChange(self.snapshot, self.library), self)
        dialog.accepted.connect(lambda: self.low_alarm_requested.emit(dialog.value))
        dialog.finished.connect(self._low_alarm_dialog_closed)
        self.low_alarm_dialog = dialog
        dialog.open()

    def _low_alarm_dialog_closed(self) -> None:
        dialog, self.low_alarm_dialog = self.low_alarm_dialog, None
        assert dialog is not None, "only the dialog ask_to_set_low_alarm keeps is connected here"
        dialog.deleteLater()
