"""Screenshots of the save-changes prompts and project files (issue 20).

Run from the repository root: ``QT_QPA_PLATFORM=offscreen python
scripts/screenshots_issue20.py``; writes docs/screenshots/.
"""

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from neuron_desktop.core.paths import samples_dir
from neuron_desktop.qt.main_window import MainWindow

OUT = Path("docs/screenshots")


def settle(app, n=20):
    for _ in range(n):
        app.processEvents()


def main() -> int:
    app = QApplication(sys.argv)
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "rec")
    w.resize(1280, 800)
    w.show()
    w.open_file(samples_dir() / "old_photo.jpg", wait=True)
    settle(app)
    w.grab().save(str(OUT / "opened_no_edits_window.png"))  # before: nothing unsaved
    w.invert_mask(wait=True)
    settle(app)
    w.grab().save(str(OUT / "unsaved_edits_window.png"))

    def grab_box(name):  # grab the next prompt, then Cancel it
        def go():
            box = w.prompt_box or QApplication.activeModalWidget()
            if box is None or not box.isVisible():
                QTimer.singleShot(50, go)
                return
            app.processEvents()
            box.grab().save(str(OUT / f"{name}.png"))
            box.button(QMessageBox.StandardButton.Cancel).click()
        QTimer.singleShot(50, go)

    grab_box("prompt_save_changes")
    w.confirm_discard("opening coffee.jpg")
    grab_box("prompt_drop")
    w.ask_drop([str(samples_dir() / "coffee.jpg")])
    grab_box("prompt_save_as_copy")
    w.ask_save_as_copy(samples_dir() / "old_photo.jpg")
    dlg = QFileDialog(w, "Save project", str(tmp / "old_photo.neuron"),
                      "Neuron project (*.neuron)")
    dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dlg.resize(760, 460)
    dlg.show()
    settle(app, 30)
    dlg.grab().save(str(OUT / "project_save_dialog.png"))
    dlg.close()
    w.save_project(tmp / "old_photo.neuron")
    settle(app)
    menu = w.menuBar().actions()[0].menu()
    menu.popup(w.mapToGlobal(w.menuBar().geometry().bottomLeft()))
    settle(app, 30)
    menu.grab().save(str(OUT / "file_menu_projects.png"))
    menu.close()
    w.grab().save(str(OUT / "project_saved_window.png"))
    w.history.setClean()
    w.close()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from screenshots import shrink  # PNGs over 300 KB: quantised

    for name in ("opened_no_edits", "unsaved_edits", "project_saved"):
        shrink(OUT / f"{name}_window.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
