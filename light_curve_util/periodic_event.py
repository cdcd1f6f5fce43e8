"""Event: a periodic event (e.g. a transit) in a light curve."""

from __future__ import annotations

import numpy as np


class Event:
  """A periodic event: period, duration and t0, all in days."""

  def __init__(self, period: float, duration: float, t0: float):
    """Initializes the Event.

    Args:
      period: Period of the event (days).
      duration: Duration of the event (days).
      t0: Time of the first occurrence (days).
    """
    self._period = period
    self._duration = duration
    self._t0 = t0

  def __str__(self):
    return "<period={}, duration={}, t0={}>".format(self.period, self.duration,
                                                    self.t0)

  def __repr__(self):
    return "Event({})".format(str(self))

  @property
  def period(self) -> float:
    return self._period

  @property
  def duration(self) -> float:
    return self._duration

  @property
  def t0(self) -> float:
    return self._t0

  def equals(self, other_event: "Event", period_rtol: float = 0.001,
             t0_durations: float = 1) -> bool:
    """Whether other_event has the same period and phase, within tolerances.

    Args:
      other_event: An Event.
      period_rtol: Relative tolerance on the periods.
      t0_durations: Tolerance on t0, in durations of other_event.

    Returns:
      True if the events match.
    """
    if not np.isclose(
        self.period, other_event.period, rtol=period_rtol, atol=1e-8):
      return False
    # |t0 difference| up to whole periods, in [0, period / 2]: comparing
    # mod(t0, period) directly fails when the two land at opposite ends.
    t0_diff = np.mod(self.t0 - other_event.t0, other_event.period)
    if t0_diff > other_event.period / 2:
      t0_diff = other_event.period - t0_diff
    return bool(t0_diff < t0_durations * other_event.duration)
