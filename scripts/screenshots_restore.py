"""docs/screenshots/restore_split.png: the Restore operation applied to the bundled sepia
sample with the shipped restorer, shown in the before/after split view.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_restore.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import finish, sample_window, wait_until  # noqa: E402


def main(out_dir: str | None = None) -> int:
    app, w = sample_window("old_photo.jpg")
    w._show_operation("Restore")
    steps = w.history.count()
    if w.run_capability("restore") is None:
        raise SystemExit("Restore did not start")
    # the result lands once the worker has made the new layer: a new History step
    wait_until(app, lambda: not w.jobs.busy and w.history.count() > steps, 120,
               "Restore step in the History")
    w.act_split.setChecked(True)
    w.canvas.set_split(True)
    w.canvas.split_pos = 0.5
    return finish(w, out_dir, "restore_split.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
