"""File ▸ Batch…: the dialog runs a recipe on a QThread, shows progress, can cancel."""

from neuron_desktop.batch.state import open_state
from neuron_desktop.core.record import read_record
from neuron_desktop.qt.batch_dialog import BatchDialog

from ..batch.conftest import CHEAP, make_photos


def _dialog(qtbot, tmp_path, n):
    make_photos(tmp_path / "in", n)
    recipe = tmp_path / "cheap.toml"
    recipe.write_text(CHEAP)
    dlg = BatchDialog(input_dir=str(tmp_path / "in"))
    qtbot.addWidget(dlg)
    dlg.recipe.setCurrentText(str(recipe))
    dlg.workers.setValue(0)
    assert dlg.output_dir.text() == str(tmp_path / "in" / "restored")
    return dlg, tmp_path / "in" / "restored"


def test_runs_with_progress(qtbot, tmp_path):
    dlg, out = _dialog(qtbot, tmp_path, 3)
    seen = []
    dlg.start()
    dlg.runner.progress.connect(lambda done, total, text: seen.append(done))
    qtbot.waitUntil(lambda: not dlg.running, timeout=120000)
    assert dlg.status.text() == "Finished: 3 done, 0 failed, 0 to do", dlg.status.text()
    assert dlg.bar.value() == dlg.bar.maximum() == 3
    assert read_record(out / "photo002.png").recipe == "cheap"
    assert dlg.start_button.isEnabled() and not dlg.cancel_button.isEnabled()


def test_cancel_then_resume(qtbot, tmp_path):
    dlg, out = _dialog(qtbot, tmp_path, 12)
    dlg.start()
    qtbot.waitUntil(lambda: dlg.bar.value() >= 1, timeout=120000)
    dlg.cancel()
    qtbot.waitUntil(lambda: not dlg.running, timeout=120000)
    assert dlg.status.text().startswith("Cancelled: "), dlg.status.text()
    with open_state(out) as state:
        first = state.counts()
    assert 1 <= first.done < 12 and first.running == 0
    dlg.start()  # the same folders: it resumes
    qtbot.waitUntil(lambda: not dlg.running, timeout=120000)
    assert dlg.status.text() == "Finished: 12 done, 0 failed, 0 to do"


def test_file_menu_opens_the_dialog(window):
    file_menu = window.menuBar().actions()[0].menu()
    action = next(a for a in file_menu.actions() if a.text() == "&Batch…")
    action.trigger()
    dlg = window._batch_dialog
    assert isinstance(dlg, BatchDialog) and dlg.isVisible()
    action.trigger()
    assert window._batch_dialog is dlg  # one dialog, raised again
    dlg.close()


def test_save_steps_as_recipe_then_batch_runs_it(make_window, qtbot, tmp_path, monkeypatch):
    """File ▸ Save steps as recipe: the document's operations (not its brush strokes or
    hints) become a recipe that `neuron batch` accepts, with the settings used."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from neuron_desktop.batch.recipe import load_recipe
    from tests.qt.conftest import open_photo

    w = open_photo(qtbot, make_window())
    w.invert_mask(wait=True)
    w.set_tool("hints")
    w.hint_tool.color = (0.8, 0.3, 0.1)
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=w.canvas_point(120, 90).toPoint())
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.panels["refine"].apply.click()
    path = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(path), "Recipes (*.toml)"))
    file_menu = w.menuBar().actions()[0].menu()
    next(a for a in file_menu.actions() if a.text() == "Save steps as &recipe…").trigger()
    saved = tmp_path / "mine.toml"
    recipe = load_recipe(saved)
    assert [s.use for s in recipe.steps] == ["refine", "export"]
    assert recipe.steps[0].params["radius"] == w.panels["refine"].params()["radius"]
    assert "left out" in w.statusBar().currentMessage()
