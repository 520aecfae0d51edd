"""Editor forms come from the capability declarations: one tab per image capability, one
widget per editor parameter, settings saved under <capability>/<param>."""

import numpy as np

from neuron_desktop import capabilities


def test_every_image_capability_has_a_generated_tab(window):
    names = [c.name for c in capabilities.all_capabilities()
             if c.target == "image" and not c.group]  # scan basics: the Scan dock
    assert list(window.panels) == names and "denoise" in names
    for name, panel in window.panels.items():
        for p in capabilities.get(name).params:
            assert (p.name in panel.widgets) == p.in_editor, (name, p.name)


def test_denoise_tab_runs_as_one_undoable_step(photo_window, qtbot):
    w = photo_window
    w.panels["denoise"].strength.setValue(80)
    before = w.doc.image.copy()
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.panels["denoise"].apply.click()
    assert w.history.undoText() == "Denoise" and not np.array_equal(w.doc.image, before)


def test_form_values_persist(make_window, settings):
    w = make_window(settings)
    w.panels["denoise"].strength.setValue(30)
    w.panels["refine"].radius.setValue(12)
    w.close()
    w2 = make_window(settings)
    assert w2.capability_params("denoise")["strength"] == 0.3
    assert w2.capability_params("refine")["radius"] == 12
