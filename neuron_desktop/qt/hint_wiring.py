"""The window's colour-hint handling: selection shows the hint in the picker and asks the
model for suggestions; edits re-run the live colorization (a new hint first waits for its
automatic colour, see HintTool.pending)."""

from __future__ import annotations

from neuron_desktop.qt.panels import rgb_to_lab_px


class HintsMixin:
    """MainWindow's hint slots (``self`` is the MainWindow)."""

    def _hint_selected(self, index: int) -> None:
        doc = self.doc
        self.live_preview.show_reach()
        if doc is None or not 0 <= index < len(doc.hints):
            self.hint_panel.suggested.set_colors([])
            return
        self.request_suggestions(index)  # first: the model works while the panel updates
        h = doc.hints[index]
        L = rgb_to_lab_px(tuple(doc.image[h.y, h.x]))[0]
        self.hint_panel.picker.set_state(L, h.rgb)
        self.hint_panel.show_color(h.rgb)
        self.hint_panel.size.blockSignals(True)
        self.hint_panel.size.setValue(h.size)
        self.hint_panel.size.blockSignals(False)
        self.hint_tool.size = h.size
        self._take_spread(h)

    def _take_spread(self, hint) -> None:
        """The selected ``hint``'s spread in the panel and for the next new hint."""
        self.hint_panel.show_spread(hint.spread)
        self.hint_tool.spread = hint.spread

    def _hint_color(self, rgb) -> None:
        self.hint_tool.set_color(rgb)
        self.hint_panel.show_color(rgb)
        self.hint_panel.recent.set_colors(self.hint_tool.recent)

    def _hints_edited(self) -> None:
        self.hint_panel.recent.set_colors(self.hint_tool.recent)
        sel = self.canvas.selected_hint
        if self.doc is not None and 0 <= sel < len(self.doc.hints):
            h = self.doc.hints[sel]
            L = rgb_to_lab_px(tuple(self.doc.image[h.y, h.x]))[0]
            self.hint_panel.picker.set_state(L, h.rgb)
            self._take_spread(h)  # an undo may have changed it
        if not self._colour_live_again():
            self.live_preview.show_reach()  # no live preview brings it: asked alone

    def _colour_live_again(self) -> bool:
        """Hints or a live setting (Vividness) changed: with Live update on, a screen-sized
        preview now and the full-resolution result once the edits pause (a new hint first
        waits for its automatic colour). False if no preview was asked for."""
        if self.doc is not None and self.hint_tool.pending is None and \
                self.colorize_panel.available and \
                self.colorize_panel.live.isChecked() and \
                self.colour_check.allows(live=True):  # a colour photo: asked first
            self.live_preview.request()
            self.live_timer.start()
            return True
        return False
