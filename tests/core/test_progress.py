import pytest

from neuron_desktop.core.progress import (
    Cancelled,
    CancelToken,
    Preview,
    Progress,
    run_pipeline,
    wrap_progress,
)


def steps(n, log=None):
    try:
        for i in range(n):
            yield Progress((i + 1) / n, f"step {i + 1}")
            if i == 0:
                yield Preview("img", 0.5)
        return "done"
    finally:
        if log is not None:
            log.append("closed")


def test_run_pipeline_returns_value_and_dispatches_events():
    seen, previews = [], []
    result = run_pipeline(steps(4), on_progress=seen.append, on_preview=previews.append)
    assert result == "done"
    assert [p.fraction for p in seen] == [0.25, 0.5, 0.75, 1.0]
    assert previews == [Preview("img", 0.5)]


def test_wrap_progress_maps_nested_ranges():
    def outer():
        a = yield from wrap_progress(steps(2), 0.0, 0.5)
        b = yield from wrap_progress(wrap_progress(steps(2), 0.0, 0.5), 0.5, 1.0)
        return a + b

    seen = []
    assert run_pipeline(outer(), on_progress=seen.append) == "donedone"
    assert [p.fraction for p in seen] == [0.25, 0.5, 0.625, 0.75]
    assert seen[0].message == "step 1"


def test_cancel_stops_and_closes_generator():
    token, log, seen = CancelToken(), [], []

    def on_progress(p):
        seen.append(p)
        if len(seen) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run_pipeline(steps(10, log), on_progress=on_progress, cancel=token)
    assert len(seen) == 2 and log == ["closed"]


def test_cancel_token_check():
    token = CancelToken()
    token.check()
    token.cancel()
    with pytest.raises(Cancelled):
        token.check()
