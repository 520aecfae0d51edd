"""docs/screenshots/hint_reach.png: View ▸ Show the selected hint's reach (the hint panel's
"Show reach") on a black-and-white copy of the bundled astronaut, with the shipped colorizer:
an orange hint on the suit, its Spread raised to 170 % so its colour covers the whole suit
(the outline also shows the few spots of the face it reaches).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_hint_reach.py [OUT_DIR]
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

SPREAD = int(os.environ.get("SPREAD", "170"))


def main(out_dir: str | None = None) -> int:
    app, w = sample_window(gray_copy("astronaut.jpg"))
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_panel.show_reach.setChecked(True)
    w.hint_tool.add(90, 330)
    wait_until(app, lambda: w.hint_tool.pending is None, 120, "the hint's colour")
    w.hint_tool.set_color((0.93, 0.42, 0.17))
    w.hint_panel.spread.setValue(SPREAD)

    def shown() -> bool:
        return w.live_preview._last_hints == tuple(w.doc.hints) and w.canvas.has_reach

    wait_until(app, shown, 120, "preview and reach")
    return finish(w, out_dir, "hint_reach.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
