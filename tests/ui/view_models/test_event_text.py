"""The event log's details in words: every kind the emulator logs, written out by hand as a clinician
should read it, plus what happens to kinds and keys the programmer does not know.

In the expectations ``~`` stands for the no-break space that joins a figure to its unit (``nb``)."""

from __future__ import annotations

from datetime import datetime

import pytest

from emulator.events import EVENT_KINDS
from programmer.port import PumpEvent
from ui.view_models.event_rows import EventRows
from ui.view_models.event_text import DESCRIBERS, KIND_NAMES, detail_text, full_details, kind_name


def nb(text: str) -> str:
    return text.replace("~", "\u00a0")


BACLOFEN = {"concentration_per_ml": 500.0, "dose_unit": "mcg", "name": "baclofen"}
REFILL = {"added_ml": 14.0, "calculated_ml": 0.0, "checksum": "56a055acfc58fead", "drug": BACLOFEN,
          "refill_id": "d4eb652d97ac4e59ab060aa8eda2588d", "therapy_stopped": False, "withdrawn_ml": 0.0}

EXPECTED = [
    ("power_on", {"factory_new": True}, None, "first switch-on of a factory-new pump"),
    ("power_on", {"factory_new": False}, None, "switched on again; memory kept"),
    ("program_staged", {"checksum": "5843a785d02fd1b9"}, None, "program 5843a785 received, not running yet"),
    ("program_activated", {"checksum": "5843a785d02fd1b9", "previous": "d90bfded48050775"}, None,
     "program 5843a785 now running, replacing d90bfded"),
    ("program_activated", {"checksum": "5843a785d02fd1b9", "previous": ""}, None,
     "program 5843a785 now running, replacing no program"),
    ("program_activated", {"checksum": "5843a785d02fd1b9", "previous": "d90bfded48050775", "daily_dose": 188.0,
                           "dose_unit": "mcg", "previous_daily_dose": 150.0, "previous_dose_unit": "mcg"}, None,
     "now 188~mcg/day, was 150~mcg/day (program 5843a785)"),
    ("bolus_started", {"bolus_id": "0f3c9a77e2b54d0e8a1b2c3d4e5f6a7b", "dose": 50.0, "dose_unit": "mcg",
                       "volume_ml": 0.1, "duration_min": 30.0}, None,
     "bolus 0f3c9a77: 50~mcg (0.1~mL) over 30~min"),
    ("bolus_done", {"bolus_id": "0f3c9a77e2b54d0e8a1b2c3d4e5f6a7b", "delivered": 50.0}, "mcg",
     "bolus 0f3c9a77: 50~mcg delivered in full"),
    ("bolus_cancelled", {"bolus_id": "0f3c9a77e2b54d0e8a1b2c3d4e5f6a7b", "delivered": 12.5, "reason": "request"},
     "mcg", "bolus 0f3c9a77 stopped after 12.5~mcg: cancelled on request"),
    ("bolus_cancelled", {"bolus_id": "b-2025-03-01-0001", "delivered": 0.0, "reason": "motor_stall"}, "mg",
     "bolus b-2025-03-01-0001 stopped after 0~mg: the motor stalled"),
    ("bolus_started", {"bolus_id": "b-20261204T100000-a1b2c3", "kind": "prime", "dose": 153.0, "dose_unit": "mcg",
                       "volume_ml": 0.306, "duration_min": 18.36, "reason": "implant", "catheter_cm": 60.0}, None,
     "priming bolus b-20261204T100000-a1b2c3: 153~mcg (0.306~mL) over 18.36~min, after an implant, catheter 60~cm"),
    ("bolus_started", {"bolus_id": "b-1", "kind": "bridge", "dose": 153.0, "dose_unit": "mcg", "volume_ml": 0.306,
                       "duration_min": 1469.0, "concentration_per_ml": 500.0}, None,
     "bridge bolus b-1: 153~mcg (0.306~mL) over 1469~min, at the old 500~mcg/mL"),
    ("bolus_done", {"bolus_id": "b-1", "kind": "prime", "delivered": 153.0, "volume_ml": 0.306}, "mcg",
     "priming bolus b-1: 153~mcg delivered in full (0.306~mL pumped)"),
    ("bolus_cancelled", {"bolus_id": "demand-17", "kind": "demand", "delivered": 5.0, "volume_ml": 0.01,
                         "reason": "request"}, "mcg",
     "demand dose demand-17 stopped after 5~mcg (0.01~mL pumped): cancelled on request"),
    ("line_flushed", {"concentration_per_ml": 0.0, "pumped_ml": 10.5, "to_patient_ml": 10.5}, None,
     "the spinal fluid has left the catheter: the reservoir's drug now reaches the patient (10.5~mL pumped, "
     "10.5~mL to the patient in all)"),
    ("line_flushed", {"concentration_per_ml": 500.0, "pumped_ml": 11.0, "to_patient_ml": 11.0}, None,
     "the old drug (500 per mL) has left the catheter: the reservoir's drug now reaches the patient (11~mL pumped, "
     "11~mL to the patient in all)"),
    ("demand_set", {"enabled": True, "dose": 25.0, "dose_unit": "mcg", "duration_min": 10.0, "lockout_min": 120.0,
                    "max_per_day": 4}, None,
     "demand dose on: 25~mcg over 10~min a press, lockout 120~min, at most 4 a day"),
    ("demand_set", {"enabled": False, "reason": "drug_changed"}, None,
     "demand dose off (switched off because the drug changed)"),
    ("demand_granted", {"bolus_id": "demand-17", "dose": 25.0, "dose_unit": "mcg", "volume_ml": 0.05, "count_24h": 2},
     None, "the patient pressed the button: demand dose demand-17 of 25~mcg (0.05~mL) given, 2 in the last 24~h"),
    ("demand_refused", {"reason": "lockout", "count_24h": 2}, None,
     "the patient pressed the button: nothing given, within the lockout interval (2 given in the last 24~h)"),
    ("refill", REFILL, None,
     "added 14~mL, withdrawn 0~mL (pump had calculated 0~mL); drug baclofen 500~mcg/mL; therapy kept"),
    ("refill", {**REFILL, "withdrawn_ml": 1.5, "calculated_ml": 1.75, "therapy_stopped": True,
                "drug": {"concentration_per_ml": 2.0, "dose_unit": "mg", "name": "morphine"}}, None,
     "added 14~mL, withdrawn 1.5~mL (pump had calculated 1.75~mL); drug morphine 2~mg/mL; "
     "therapy stopped (a different drug was filled)"),
    ("alarm_raised", {"code": "low_reservoir", "severity": "non_critical"}, None,
     "Low reservoir: refill soon (Non-critical)"),
    ("alarm_raised", {"code": "reservoir_empty", "severity": "critical"}, None,
     "Reservoir empty: no drug is being delivered (CRITICAL)"),
    ("alarm_cleared", {"code": "low_reservoir"}, None, "Low reservoir"),
    ("alarm_acknowledged", {"code": "eri"}, None, "Battery at replacement indicator (ERI)"),
    ("clock_set", {"old": "2026-11-28T11:29:09", "new": "2026-11-28T11:31:00"}, None,
     "pump clock set from Sat 28 Nov 2026 11:29:09 to Sat 28 Nov 2026 11:31:00 (1~min 51~s forward)"),
    ("clock_set", {"old": "2026-11-28T12:00:00", "new": "2026-11-28T10:59:58"}, None,
     "pump clock set from Sat 28 Nov 2026 12:00:00 to Sat 28 Nov 2026 10:59:58 (1~h 2~s back)"),
    ("low_alarm_set", {"old_ml": 2.0, "new_ml": 4.5}, None, "low-reservoir alarm threshold from 2~mL to 4.5~mL"),
    ("session_started", {"session": 4, "programmer_id": "programmer-5f0e"}, None,
     "programmer-5f0e authenticated (session 4)"),
    ("session_ended", {"session": 4, "programmer_id": "programmer-5f0e", "reason": "idle"}, None,
     "session 4 of programmer-5f0e ended: nothing received for the idle timeout"),
    ("session_ended", {"session": 5, "programmer_id": "programmer-5f0e", "reason": "battery_swap"}, None,
     "session 5 of programmer-5f0e ended: battery swap"),
    ("frame_rejected", {"session": 4, "reason": "replayed"}, None,
     "a sealed frame was dropped unanswered, never acted on: a replay of an earlier frame (session 4)"),
    ("frame_rejected", {"session": "9a8b7c6d5e4f3a2b1c0d", "reason": "forged"}, None,
     "a sealed frame was dropped unanswered, never acted on: not sealed with the session's key (forged or "
     "altered) (session 9a8b7c6d)"),
    ("pairing_window_opened", {"seconds": 120}, None, "open to pairing for 120~s (the code is never logged)"),
    ("pairing_window_closed", {"reason": "attempts"}, None, "no more pairing: its pairing attempts were used up"),
    ("programmer_paired", {"programmer_id": "programmer-5f0e"}, None,
     "programmer-5f0e paired: it may open sessions"),
    ("pairing_failed", {"programmer_id": "programmer-5f0e"}, None,
     "programmer-5f0e gave a wrong pairing code: not paired"),
    ("programmer_unpaired", {"programmer_id": "programmer-5f0e"}, None,
     "programmer-5f0e unpaired: its key forgotten by the pump"),
]


@pytest.mark.parametrize(("kind", "detail", "unit", "text"), EXPECTED)
def test_each_kind_reads_as_a_sentence_with_units(kind, detail, unit, text):
    assert detail_text(kind, detail, unit) == nb(text)


def test_every_kind_the_emulator_logs_has_a_sentence_a_name_and_an_expectation():
    assert set(DESCRIBERS) == EVENT_KINDS == set(KIND_NAMES)
    assert {kind for kind, *_ in EXPECTED} == EVENT_KINDS


def test_kinds_are_named_in_full():
    assert kind_name("program_activated") == "Program activated"
    assert kind_name("bolus_cancelled") == "Bolus stopped"
    assert kind_name("prime_done") == "Prime done"  # a kind of a newer firmware, from its own name


@pytest.mark.parametrize(("kind", "detail", "unit", "text"), EXPECTED)
def test_no_sentence_carries_a_whole_program_checksum_or_token(kind, detail, unit, text):
    sentence = detail_text(kind, detail, unit)
    for value in detail.values():
        if isinstance(value, str) and len(value) >= 16 and value.isalnum():
            assert value not in sentence


def test_a_bolus_borrows_its_dose_unit_from_its_start():
    start = {"bolus_id": "b1", "dose": 2.0, "dose_unit": "mg", "volume_ml": 1.0, "duration_min": 10.0}
    events = [PumpEvent(0, datetime(2026, 3, 2), "bolus_started", start),
              PumpEvent(1, datetime(2026, 3, 2), "bolus_done", {"bolus_id": "b1", "delivered": 2.0}),
              PumpEvent(2, datetime(2026, 3, 2), "bolus_done", {"bolus_id": "b2", "delivered": 3.0})]
    rows = EventRows(events)
    assert [rows.description(1), rows.description(2)] == [nb("bolus b1: 2~mg delivered in full"),
                                                          "bolus b2: 3 (in the drug's dose unit) delivered in full"]


def test_unknown_kinds_and_keys_are_shown_in_words_not_dropped():
    assert detail_text("prime_done", {"volume_ml": 0.25, "ok": True, "note": None,
                                      "cartridge_id": "0f3c9a77e2b54d0e8a1b2c3d4e5f6a7b"}) == nb(
        "cartridge 0f3c9a77; note none; ok yes; volume 0.25~mL")
    assert detail_text("alarm_cleared", {"code": "occlusion", "since_min": 5}) == nb("occlusion; since 5~min")
    assert detail_text("prime_done", {"concentration_per_ml": 2.0}) == "concentration per ml 2"  # no unit guessed


def test_a_detail_not_as_documented_is_shown_key_by_key():
    assert detail_text("refill", {"added_ml": "lots", "therapy_stopped": "no"}) == "added lots mL; therapy stopped no"
    assert detail_text("power_on", {}) == ""


def test_full_details_keep_every_key_and_id_whole_with_units_and_the_clock():
    event = PumpEvent(7, datetime(2026, 12, 2, 7, 27, 21), "refill", REFILL)
    assert full_details(event) == nb(
        "Refill, event 7, Wed 02 Dec 2026 07:27:21 (pump clock)\n"
        "added_ml: 14~mL\n"
        "calculated_ml: 0~mL\n"
        "checksum: 56a055acfc58fead\n"
        "drug.concentration_per_ml: 500\n"
        "drug.dose_unit: mcg\n"
        "drug.name: baclofen\n"
        "refill_id: d4eb652d97ac4e59ab060aa8eda2588d\n"
        "therapy_stopped: no\n"
        "withdrawn_ml: 0~mL")
    clock = PumpEvent(8, datetime(2026, 11, 28, 11, 31), "clock_set", {"old": "2026-11-28T11:29:09",
                                                                       "new": "2026-11-28T11:31:00"})
    assert full_details(clock).splitlines()[1:] == ["new: Sat 28 Nov 2026 11:31:00 (pump clock)",
                                                    "old: Sat 28 Nov 2026 11:29:09 (pump clock)"]


def test_a_run_the_pump_merged_into_one_event_says_how_many_and_since_when():
    merged = {"session": 4, "reason": "forged", "coalesced": 37, "first_time": "2026-11-28T11:29:09"}
    assert detail_text("frame_rejected", merged) == nb(
        "a sealed frame was dropped unanswered, never acted on: not sealed with the session's key (forged or "
        "altered) (session 4); merged: 37 of these since Sat 28 Nov 2026 11:29:09")
    clock = {"old": "2026-11-28T11:00:00", "new": "2026-11-28T12:00:00", "coalesced": 2,
             "first_time": "2026-11-28T10:59:00"}
    assert detail_text("clock_set", clock) == nb("pump clock set from Sat 28 Nov 2026 11:00:00 to Sat 28 Nov 2026 "
                                                 "12:00:00 (1~h forward); merged: 2 of these since Sat 28 Nov 2026 "
                                                 "10:59:00")
    assert detail_text("frame_rejected", {**merged, "first_time": 5}) == nb(  # not as documented: key by key
        "a sealed frame was dropped unanswered, never acted on: not sealed with the session's key (forged or "
        "altered) (session 4); coalesced 37; first time 5")
