"""Help ▸ Keyboard shortcuts (generated, searchable), Help ▸ User guide, and operations
disabled while no photo is open."""

import re

from PySide6.QtCore import Qt

from tests.qt.conftest import open_photo


def test_shortcuts_list_is_generated_and_searchable(window, qtbot):
    window.help_wiring.act_shortcuts.trigger()
    d = window.help_wiring.dialog
    names = [r[0] for r in d.rows]
    assert {"Mask brush", "Crop tool", "Lasso", "Rotate left", "Undo"} <= set(names)
    qtbot.keyClicks(d.search, "crop")
    shown = [d.rows[i][0] for i in range(len(d.rows)) if not d.table.isRowHidden(i)]
    assert "Crop tool" in shown and "Mask brush" not in shown
    d.search.clear()
    qtbot.keyClicks(d.search, "ctrl + drag")
    shown = [d.rows[i][0] for i in range(len(d.rows)) if not d.table.isRowHidden(i)]
    assert "Brush size" in shown and "Undo" not in shown
    d.close()


def test_user_guide_opens_with_its_pictures(window):
    d = window.help_wiring.show_guide()
    assert d is not None
    text = d.view.toPlainText()
    assert "Crop" in text and "Lasso" in text
    assert "screenshots/" in d.view.toHtml()
    d.close()


def test_operations_need_a_photo(window, qtbot):
    w = window
    assert w.undo_view.emptyLabel() == "No photo open"
    assert not w.panels["inpaint"].apply.isEnabled()
    assert not w.brush_panel.detect.isEnabled()
    open_photo(qtbot, w)
    assert w.undo_view.emptyLabel() == "Opened photo"
    assert w.panels["inpaint"].apply.isEnabled() and w.brush_panel.detect.isEnabled()
    assert not w.panels["colorize"].apply.isEnabled()  # its model is hidden in the tests
    qtbot.mouseClick(w.panels["denoise"].apply, Qt.MouseButton.LeftButton)  # enabled: runs
    qtbot.waitUntil(lambda: w.history.count() == 1, timeout=20000)


def test_user_guide_ships_in_the_package_with_its_pictures_found(window):
    """Issue 19: the guide is package data (found through importlib.resources, so an
    installed wheel has it); in a checkout its screenshots load from docs/screenshots/."""
    from pathlib import Path

    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    import neuron_desktop
    from neuron_desktop.qt.help import user_guide_path

    path = user_guide_path()
    assert path is not None and path.parent == Path(neuron_desktop.__file__).parent / "resources"
    pointer = Path(neuron_desktop.__file__).parents[1] / "docs" / "user_guide.md"
    assert "neuron_desktop/resources/user_guide.md" in pointer.read_text()  # one source
    assert len(pointer.read_text()) < 400
    d = window.help_wiring.show_guide()
    html = d.view.toHtml()
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 4 and "*(Picture:" not in d.view.toMarkdown()
    for src in sources:
        image = d.view.loadResource(QTextDocument.ResourceType.ImageResource.value, QUrl(src))
        assert image is not None and not image.isNull(), src
    d.close()


def test_user_guide_without_its_screenshots_shows_the_captions(window, tmp_path):
    """An installed app ships no screenshots: each picture becomes its caption."""
    from neuron_desktop.qt.help import UserGuideDialog, guide_markdown, user_guide_path

    guide = tmp_path / "user_guide.md"
    guide.write_text(user_guide_path().read_text(encoding="utf-8"), encoding="utf-8")
    text = guide_markdown(guide)
    assert "![" not in text and "*(Picture: The editor with a photo open)*" in text
    d = UserGuideDialog(window, guide)
    assert "<img" not in d.view.toHtml()
    assert "Picture: Painting the mask" in d.view.toPlainText()
    d.close()
