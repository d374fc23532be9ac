"""The preview's axes as numbers: round tick steps, one level of ticks, and a dose-rate axis whose top moves
only when the highest rate moves materially (so an edit repaints the lines and not the axes)."""

from __future__ import annotations

import pytest

from ui.view_models.series import rate_axis_top, round_step, value_ticks


@pytest.mark.parametrize(("at_least", "step"), [(0.9, 1), (1, 1), (1.3, 2), (2.01, 5), (5, 5), (5.5, 10), (0.07, 0.1),
                                                (0.0012, 0.002), (340, 500)])
def test_a_tick_step_is_one_two_or_five_times_a_power_of_ten(at_least, step):
    assert round_step(at_least) == step


def test_ticks_are_the_steps_multiples_inside_the_range():
    assert value_ticks(0, 8.5, 0.9) == (1, [0, 1, 2, 3, 4, 5, 6, 7, 8])
    # the rate plot's hours, 0 to 24 with 1 % margins: labels at least 1.3 h apart
    assert value_ticks(-0.24, 24.24, 1.3) == (2, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24])
    assert value_ticks(-0.4, 20.4, 2.2) == (5, [0, 5, 10, 15, 20])
    assert value_ticks(0.05, 0.62, 0.07) == (0.1, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])  # no 0.30000000000000004
    assert value_ticks(3, 3, 1) == (1, []) and value_ticks(0, 1, 0) == (1, [])


@pytest.mark.parametrize(("highest", "top"), [
    (8, 10),      # 9.2 with its 15 %; a tenth of it is 0.92, a step of 1: up to 10
    (7, 9),       # 8.05: 9
    (7.5, 9),     # 8.625: 9 too, so an edit from 7 to 7.5 mcg/h leaves the axis alone
    (10, 12),     # 11.5; 1.15, a step of 2: 12
    (14, 18),     # 16.1; 1.61, a step of 2: 18
    (100, 120),   # 115; 11.5, a step of 20: 120
    (0.04, 0.05), # 0.046; 0.0046, a step of 0.005: 0.05
    (0, 1),       # nothing delivered: an axis from 0 to 1, not an empty one
])
def test_the_rate_axis_top_is_above_the_highest_rate_on_a_round_step(highest, top):
    assert rate_axis_top(highest) == top
    assert rate_axis_top(highest) >= highest * 1.15
