"""``pump-emulator --catheter-cm L``: a new pump's catheter, implanted and primed long ago, so its first fill fills the
line; an existing pump only with the catheter it has. In process (the option's refusals return before serving)."""

from __future__ import annotations

import pytest

from emulator.cli import main
from emulator.clock import SimClock
from emulator.pump import Pump
from emulator.state import StateFileError, load_state
from programmer.program import Drug
from tests.support.emulator_support import BACLOFEN_500


def test_a_new_pump_with_a_catheter_fills_its_line_at_the_first_fill(tmp_path):
    path = tmp_path / "pump.json"
    pump = Pump.power_on(path, "ITB-20", SimClock(), 60.0)
    line = pump.status()["line"]
    assert (line["catheter_cm"], line["volume_ml"], line["dose_unit"]) == (60.0, pytest.approx(0.306), None)
    pump.refill("r1", 0.0, 20.0, Drug(**BACLOFEN_500))
    assert pump.status()["line"]["contents"] == [{"volume_ml": pytest.approx(0.306), "concentration_per_ml": 500.0}]
    pump.flush()
    assert load_state(path).catheter_cm == 60.0
    Pump.power_on(path, "ITB-20", SimClock(), 60.0)  # the same catheter again: taken


def test_an_existing_pump_with_another_or_no_catheter_is_refused_and_left_as_it_was(tmp_path, capsys):
    path = tmp_path / "pump.json"
    Pump.power_on(path, "ITB-20", SimClock())
    before = path.read_bytes()
    with pytest.raises(StateFileError, match="no catheter recorded, not 60 cm"):
        Pump.power_on(path, "ITB-20", SimClock(), 60.0)
    assert main(["--listen", "tcp://127.0.0.1:0", "--state", str(path), "--catheter-cm", "60"]) == 2
    assert "--catheter-cm only sets up a new pump" in capsys.readouterr().err
    assert path.read_bytes() == before


@pytest.mark.parametrize("length", ["9.9", "110.5", "sixty"])
def test_a_catheter_length_outside_10_to_110_cm_is_an_invalid_option(tmp_path, capsys, length):
    assert main(["--listen", "tcp://127.0.0.1:0", "--state", str(tmp_path / "pump.json"), "--catheter-cm", length]) == 2
    assert "--catheter-cm" in capsys.readouterr().err
    assert not (tmp_path / "pump.json").exists()
