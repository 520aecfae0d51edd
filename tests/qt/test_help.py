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


# what may be used with no photo open: opening, settings, docks, tool choice, help
NO_PHOTO_OK = {"Open…", "Open project…", "Export options…", "Embed edit record in exports",
               "Restore session…", "Batch…", "Quit", "Show uncertain areas",
               "Show the selected hint's reach", "Tools",
               "Operations", "Styles", "History", "Layers", "Scan", "Mask brush", "Lasso",
               "Eraser", "Colour hints", "Pan", "Smaller brush", "Bigger brush", "User guide",
               "Keyboard shortcuts", "Open log folder", "About", "Preferences…"}


def _menu_actions(w):
    for m in w.menuBar().actions():
        for a in m.menu().actions():
            if not a.isSeparator() and a.menu() is None:
                yield m.text().replace("&", ""), a.text().replace("&", ""), a


def test_every_photo_action_and_button_is_disabled_without_a_photo(window, qtbot):
    from PySide6.QtWidgets import QPushButton

    w = window
    enabled = {(m, t) for m, t, a in _menu_actions(w)
               if a.isEnabled() and t not in NO_PHOTO_OK and m != "Image"}
    image_ops = {t for m, t, a in _menu_actions(w) if m == "Image" and a.isEnabled()}
    assert not enabled, f"enabled with no photo: {enabled}"
    assert image_ops <= {f"{n}…" for n in w.operations}  # they only show the operation's form
    buttons = [b for b in w.findChildren(QPushButton) if b.isEnabled()
               and b.text() not in ("", "Add style image…", "Add", "Subtract",
                                    "Browse…")]  # choosing a colour reference needs no photo
    assert not buttons, [b.text() for b in buttons]
    open_photo(qtbot, w)
    for name in ("Export…", "Export before/after…", "Save project…", "Clear mask",
                 "Rotate left", "Crop tool", "Save steps as recipe…"):
        assert any(t == name and a.isEnabled() for _m, t, a in _menu_actions(w)), name
    assert w.mask_tools.panel.grow.isEnabled() and w.brush_panel.detect.isEnabled()
    assert all(b.isEnabled() for b in w.scan_tools.panel.applies.values())


def test_no_two_actions_share_a_shortcut(window):
    """A shortcut given twice does nothing in Qt (it is ambiguous): each one is unique."""
    from collections import Counter

    from PySide6.QtGui import QAction

    keys = Counter(a.shortcut().toString() for a in window.findChildren(QAction)
                   if not a.shortcut().isEmpty())
    assert len(keys) > 20 and not [k for k, n in keys.items() if n > 1]
    assert keys["Shift+H"] == 1  # Tools ▸ Add a hint where the model is least sure
