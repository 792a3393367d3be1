"""The monitor's publication of the compacted indicator topic, in three parts:

* :mod:`.pending` — the pending cells: what a fold's deltas may have changed, recorded in its transaction;
* :mod:`jeugdstroom.monitor.publisher` — one publication: the pending cells' current public rows, written to the
  outbox where their value changed;
* :mod:`.loop` — the publishing loop: when publications run (woken by committed folds, paced, retried).
"""
