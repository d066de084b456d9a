"""The analytics domain: the operations models a hospital manager plans with.

Pure domain code, no database or web imports: the parts that read booking and scheduling data (the daily
roll-up, the demand forecast, the optimal allocation of slots) come later and call into these models.

- ``queueing``: M/M/1 and M/M/c (Erlang C) waiting-time models, the smallest number of doctors meeting a
  target, and the estimation of their rates from check-in and completion times.
"""
