"""Shared helpers for evaluations: 8-bit comparison, tables, contact sheets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from neuron_desktop.data.photos import SHARED_DATA as SHARED_DATA


def to_8bit(x: torch.Tensor) -> torch.Tensor:
    """Quantise (B, C, H, W) [0, 1] to the 8-bit grid (results are compared as saved files)."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """columns: (key, header, format)."""
    cells = [[format(r[k], f) if isinstance(r.get(k), float) else str(r.get(k, ""))
              for k, _, f in columns] for r in rows]
    heads = [h for _, h, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)))


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


def contact_sheet(rows: list[list[np.ndarray]], headers: list[str], path: Path,
                  cell: int = 256) -> None:
    """Grid of (H, W, 3) float images, each row scaled to ``cell`` px high, with headers;
    a row may be shorter than the header (its last cells stay empty)."""
    scaled = []
    for row in rows:
        ims = []
        for im in row:
            pil = Image.fromarray((np.clip(im, 0, 1) * 255 + 0.5).astype(np.uint8))
            w = round(pil.width * cell / pil.height)
            ims.append(pil.resize((w, cell), Image.LANCZOS))
        scaled.append(ims)
    col_w = [max((r[i].width for r in scaled if i < len(r)), default=cell)
             for i in range(len(headers))]
    pad, top = 6, 22
    sheet = Image.new("RGB", (sum(col_w) + pad * (len(col_w) + 1),
                              top + len(scaled) * (cell + pad) + pad), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    x = pad
    for i, h in enumerate(headers):
        draw.text((x, 5), h, fill=(230, 230, 230))
        x += col_w[i] + pad
    for r, ims in enumerate(scaled):
        x = pad
        for i, im in enumerate(ims):
            sheet.paste(im, (x, top + r * (cell + pad)))
            x += col_w[i] + pad
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88)
