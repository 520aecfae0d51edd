"""JobManager: signals, latest-request-wins, cancel, errors, OOM fallback; History limits."""

import logging

import numpy as np
import pytest
import torch

from neuron_desktop.core.document import Document
from neuron_desktop.core.errors import MaskError
from neuron_desktop.core.progress import Preview, Progress
from neuron_desktop.qt.commands import EditCommand, History, StrokeCommand
from neuron_desktop.qt.workers import JobManager, JobSpec


def _pipeline(n=3, sleep=0.0, fail=None):
    import time

    def make(device, cancel):
        def gen():
            for i in range(n):
                if sleep:
                    time.sleep(sleep)
                if fail is not None and i == 1:
                    raise fail
                yield Progress((i + 1) / n, f"step {i}")
                yield Preview(torch.full((1, 3, 8, 8), i / n), (i + 1) / n)
            return torch.ones(1, 3, 4, 4)

        return gen()

    return make


def test_signals_in_order(qtbot):
    jm = JobManager()
    got = []
    jm.started.connect(lambda name, dev: got.append(("started", dev)))
    jm.progress.connect(lambda f, m: got.append(("progress", f)))
    jm.preview.connect(lambda img: got.append(("preview", (img.height(), img.width()))))
    with qtbot.waitSignal(jm.finished, timeout=10000) as blocker:
        jm.submit(JobSpec("t", _pipeline(), postprocess=lambda t: t.numpy()))
    name, result, spec = blocker.args
    assert name == "t" and result.shape == (1, 3, 4, 4)
    assert got[0] == ("started", "cpu")
    assert ("preview", (8, 8)) in got  # a QImage, converted on the worker
    assert [g for g in got if g[0] == "progress"][-1] == ("progress", 1.0)
    assert not jm.busy


def test_latest_request_wins(qtbot):
    jm = JobManager()
    finished = []
    jm.finished.connect(lambda name, r, s: finished.append(name))
    jm.submit(JobSpec("first", _pipeline(n=50, sleep=0.02)))
    with qtbot.waitSignal(jm.finished, timeout=10000):
        jm.submit(JobSpec("second", _pipeline()))
    jm.wait()
    qtbot.wait(50)
    assert finished == ["second"]


def test_cancel_stops_between_steps(qtbot):
    jm = JobManager()
    steps = []
    jm.progress.connect(lambda f, m: steps.append(f))
    with qtbot.waitSignal(jm.progress, timeout=10000):
        jm.submit(JobSpec("slow", _pipeline(n=1000, sleep=0.01)))
    with qtbot.waitSignal(jm.cancelled, timeout=1000):
        jm.cancel()
    assert jm.wait(2000)
    assert not jm.busy and max(steps) < 0.5


def test_error_is_reported_not_raised(qtbot):
    jm = JobManager()
    with qtbot.waitSignal(jm.error, timeout=10000) as blocker:
        jm.submit(JobSpec("bad", _pipeline(fail=ValueError("boom"))))
    name, exc, _spec = blocker.args
    assert name == "bad" and isinstance(exc, ValueError)


def test_expected_errors_are_logged_without_a_traceback(qtbot, caplog):
    """A NeuronError (e.g. "nothing to fill there") is a message for the user, not a crash:
    a warning without a traceback; anything else is logged as an error with its traceback."""
    jm = JobManager()
    caplog.set_level(logging.WARNING, logger="neuron_desktop.qt.workers")
    with qtbot.waitSignal(jm.error, timeout=10000):
        jm.submit(JobSpec("fill", _pipeline(fail=MaskError("nothing to fill there"))))
    (rec,) = [r for r in caplog.records if "fill" in r.getMessage()]
    assert rec.levelno == logging.WARNING and rec.exc_info is None
    assert "nothing to fill there" in rec.getMessage()
    caplog.clear()
    with qtbot.waitSignal(jm.error, timeout=10000):
        jm.submit(JobSpec("bad", _pipeline(fail=ValueError("boom"))))
    (rec,) = [r for r in caplog.records if "bad" in r.getMessage()]
    assert rec.levelno == logging.ERROR and rec.exc_info is not None


def test_out_of_memory_fallback_is_reported_not_retried(qtbot, monkeypatch):
    """The pipeline's own ladder retries (core.device.run_with_fallback); the worker runs
    the job once and only reports each Fallback event as a message."""
    from neuron_desktop.core import device as device_mod
    from neuron_desktop.core.device import run_with_fallback

    monkeypatch.setattr(device_mod, "free_device_memory", lambda d: None)  # a full gc: slow
    jm = JobManager()
    messages, made, tiles = [], [], []

    def job(device, tile):
        tiles.append(tile)
        if tile is None:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        yield Progress(0.5, "working")
        return tile

    def make(device, cancel):
        made.append(device)
        return run_with_fallback(job, device=device, tile_sizes=(None, 512))

    jm.message.connect(messages.append)
    with qtbot.waitSignal(jm.finished, timeout=30000) as blocker:
        jm.submit(JobSpec("oom", make, device="cpu"))
    assert blocker.args[1] == 512
    assert len(made) == 1 and tiles == [None, 512]
    assert len(messages) == 1 and "Out of memory" in messages[0]


def test_out_of_memory_at_the_end_of_the_ladder_is_an_error(qtbot):
    jm = JobManager()
    made = []

    def make(device, cancel):
        made.append(device)
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    with qtbot.waitSignal(jm.error, timeout=30000) as blocker:
        jm.submit(JobSpec("oom", make, device="cpu"))
    assert isinstance(blocker.args[1], torch.OutOfMemoryError)
    assert len(made) == 1  # no second ladder around the pipeline's


def test_bad_device_is_an_error(qtbot):
    jm = JobManager()
    with qtbot.waitSignal(jm.error, timeout=10000) as blocker:
        jm.submit(JobSpec("dev", _pipeline(), device="nonsense"))
    assert "device" in str(blocker.args[1])


@pytest.mark.parametrize("limit_kb", [64])
def test_history_memory_limit_drops_oldest(qapp, limit_kb):
    doc = Document(np.zeros((256, 256, 3), np.float32))
    h = History(byte_limit=limit_kb * 1024)
    for i in range(6):  # each stroke stores a few 64x64 float32 tiles (16 KiB each)
        h.push(StrokeCommand(doc, (20 + 40 * i, 20), (20 + 40 * i, 200), 6, 0.8, False, i + 1))
    assert h.nbytes <= limit_kb * 1024 or h.count() == 1
    assert h.count() < 6
    kept = h.count()
    painted = doc.mask.copy()
    for _ in range(kept):
        h.undo()
    assert doc.mask[100, 20 + 40 * 5] == 0  # the newest strokes were undone
    for _ in range(kept):
        h.redo()
    assert np.array_equal(doc.mask, painted)


def test_edit_command_stores_changed_tiles_only(qapp):
    doc = Document(np.zeros((512, 512, 3), np.float32))
    new = doc.image.copy()
    new[10:20, 10:20] = 1.0
    cmd = EditCommand(doc, "edit", image=new)
    assert cmd.nbytes == 2 * 128 * 128 * 3 * 4  # one 128 px tile, old + new
    h = History()
    h.push(cmd)
    assert np.array_equal(doc.image, new)
    h.undo()
    assert not doc.image.any()
