"""Fault-injection suite: kills, full disks, damaged inputs and concurrent processes.

Each test here reproduces a way the app could lose or corrupt a user's data, or answer with a
traceback. `make test` runs the bounded default; `make faults` runs the randomised trials longer
(REID_FAULT_TRIALS scales the number of trials).
"""
