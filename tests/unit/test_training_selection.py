"""Which epoch a run keeps: never the untrained start, even when every epoch scores the same."""

from __future__ import annotations

from trainer.train_loop import better


def test_a_trained_epoch_wins_ties_and_saturation():
    start = {"mAP": 1.0, "mINP": 1.0, "epoch": 0}  # saturated held-out set
    e1 = {"mAP": 1.0, "mINP": 1.0, "epoch": 1}
    e2 = {"mAP": 1.0, "mINP": 1.0, "epoch": 2}
    best = None
    for m in (e1, e2):  # the start (epoch 0) is never offered as a candidate
        if better(m, best):
            best = m
    assert best is e2 and best is not start  # a tie goes to the later, longer-trained epoch
    assert not better({"mAP": 0.5, "mINP": 0.9}, {"mAP": 0.6, "mINP": 0.1})
    assert better({"mAP": 0.6, "mINP": 0.2}, {"mAP": 0.6, "mINP": 0.1})
    zero = None
    for m in ({"mAP": 0.0, "mINP": 0.0, "epoch": 1}, {"mAP": 0.0, "mINP": 0.0, "epoch": 2}):
        if better(m, zero):
            zero = m
    assert zero["epoch"] == 2  # all-zero figures never bring back the untrained weights
