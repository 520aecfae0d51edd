"""The editor's saved settings: window layout, tools, and every capability form (generated
from the declarations: ``<capability>/<param>``, see ``qt/forms.py``)."""

from __future__ import annotations

from PySide6.QtGui import QColor

LAYOUT_VERSION = 3  # saved dock layouts of other versions are ignored


def as_list(value) -> list[str]:
    """A QSettings list (a lone string or None when it has one or no entries)."""
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


class SettingsMixin:
    """MainWindow's settings (``self`` is the MainWindow)."""

    def load_settings(self) -> None:
        s = self.settings
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)
        bp = self.brush_panel
        bp.size.setValue(int(s.value("brush/size", 40)))
        bp.hardness.setValue(int(s.value("brush/hardness", 70)))
        color = s.value("brush/overlay_color", "#ff4040")
        qc = QColor(str(color))
        bp.set_overlay((qc.red(), qc.green(), qc.blue()), float(s.value("brush/overlay_opacity",
                                                                        0.5)))
        self.hint_panel.size.setValue(int(s.value("hints/size", 9)))
        recent = s.value("hints/recent", [])
        if isinstance(recent, str):
            recent = [recent]
        try:
            self.hint_tool.recent = [tuple(float(v) for v in c.split(",")) for c in recent or []]
        except ValueError:
            self.hint_tool.recent = []
        self.hint_panel.recent.set_colors(self.hint_tool.recent)
        for form in self.capability_forms.values():
            form.load(s)
        st = self.stylize_panel
        st.balance.setValue(int(s.value("stylize/balance", 50)))
        for p in as_list(s.value("styles/images", [])):
            self.styles_panel.add_style(p)
        d = self.device_combo.findData(str(s.value("device", "auto")))
        self.device_combo.setCurrentIndex(max(d, 0))
        self.act_record.setChecked(str(s.value("export/record", "true")).lower() == "true")
        self._rebuild_recent()
        self._brush_settings()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(LAYOUT_VERSION))
        bp = self.brush_panel
        s.setValue("brush/size", bp.size.value())
        s.setValue("brush/hardness", bp.hardness.value())
        rgb, opacity = bp.overlay
        s.setValue("brush/overlay_color", "#{:02x}{:02x}{:02x}".format(*rgb))
        s.setValue("brush/overlay_opacity", opacity)
        s.setValue("hints/size", self.hint_panel.size.value())
        s.setValue("hints/recent", [",".join(f"{v:.4f}" for v in c)
                                    for c in self.hint_tool.recent])
        for form in self.capability_forms.values():
            form.save(s)
        st = self.stylize_panel
        s.setValue("stylize/balance", st.balance.value())
        s.setValue("styles/images", self.styles_panel.paths())
        s.setValue("device", self.device_pref())
        s.setValue("export/record", self.act_record.isChecked())
        s.sync()
