"""The analytics domain: the operations models a hospital manager plans with.

Pure domain code, no database or web imports: the parts that read booking and scheduling data (the daily
roll-up, the API and the console's pages) come later and call into these models.

- ``queueing``: M/M/1 and M/M/c (Erlang C) waiting-time models, the smallest number of doctors meeting a
  target, and the estimation of their rates from check-in and completion times (docs/queueing.md).
- ``forecast`` and ``holidays``: daily demand 14 days ahead (ETS with weekly seasonality, holidays and
  their make-up workdays as learned factors), backtested against a seasonal-naive baseline
  (docs/forecast.md).
- ``allocation``: slots assigned to weighted requests at the least total weighted wait, one per person,
  ties in the fair draw's order (docs/allocation.md).
"""
