"""docs/screenshots/colour_reference.png: Colorize with a colour reference chosen in the
panel. The photo is the bundled coffee sample made black and white; the reference is the
left half of its colour original (a stand-in for "a colour photo of the same scene").

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_reference.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import (  # noqa: E402
    SAMPLES,
    finish,
    gray_copy,
    sample_window,
    wait_until,
)


def main(out_dir: str | None = None) -> int:
    import cv2

    gray = gray_copy("coffee.jpg")
    reference = gray.with_name("coffee_reference.png")
    colour = cv2.imread(str(SAMPLES / "coffee.jpg"))
    cv2.imwrite(str(reference), colour[:, : colour.shape[1] // 2])
    app, w = sample_window(gray)
    w._show_operation("Colorize")
    w.colorize_panel.reference.setText(str(reference))
    done = []
    w.jobs.finished.connect(lambda *a: done.append(1))
    w.run_colorize()
    wait_until(app, lambda: bool(done), 120, "colorization")
    return finish(w, out_dir, "colour_reference.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
