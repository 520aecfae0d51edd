"""docs/screenshots/uncertain_areas.png: View ▸ Show uncertain areas over the live automatic
colorization of a black-and-white copy of the bundled astronaut (the model is sure of most of
the sepia cat, so the overlay would hardly show there), with the shipped colorizer, in the
current layout;
docs/screenshots/vividness.png: the Colorize form's Vividness slider at 80 % with the live
colorization of the sepia cat;
docs/screenshots/hint_where_unsure.png: two hints added with Tools ▸ Add a hint where the model
is least sure (the hint panel's "Hint where unsure") on the astronaut, the overlay on.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_uncertain.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import finish, gray_copy, sample_window, wait_until  # noqa: E402


def main(out_dir: str | None = None) -> int:
    app, w = sample_window(gray_copy("astronaut.jpg"))
    w._show_operation("Colorize")  # the Colorize form beside the overlay
    got = []
    w.live_preview.live.confidenceReady.connect(lambda *a: got.append(1))
    w.live_preview.act_uncertain.setChecked(True)
    wait_until(app, lambda: bool(got), 120, "confidence overlay")
    finish(w, out_dir, "uncertain_areas.png")
    app, w = sample_window(gray_copy("astronaut.jpg"))
    w.live_preview.act_uncertain.setChecked(True)
    for n in (1, 2):
        w.hint_panel.where.click()
        wait_until(app, lambda n=n: len(w.doc.hints) == n and w.hint_tool.pending is None and
                   w.live_preview._last_hints == tuple(w.doc.hints), 120, f"hint {n}")
    wait_until(app, lambda: w.live_preview.previews >= 2 and w.canvas.has_overlay, 120,
               "preview with the overlay")
    finish(w, out_dir, "hint_where_unsure.png")
    app, w = sample_window("old_photo.jpg")
    w._show_operation("Colorize")
    w.colorize_panel.live.setChecked(True)
    w.colorize_panel.vividness.setValue(80)  # the preview follows the slider
    wait_until(app, lambda: w.live_preview.previews >= 1, 120, "live preview")
    return finish(w, out_dir, "vividness.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
