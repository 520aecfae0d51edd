"""Write weights/style_fast.safetensors + manifest entry from a training run's checkpoint
(e.g. to try an unfinished run in the editor): python scripts/export_style_checkpoint.py RUN"""

import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from neuron_desktop.models.weights import save_weights
from neuron_desktop.pipelines.stylize import FAST_WEIGHTS
from neuron_desktop.train.style import StyleRecipe, load_styles

run = Path(sys.argv[1])
state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
recipe = StyleRecipe(**{k: v for k, v in state["fixed"].items()})
recipe.steps = state["step"]
names, _ = load_styles(recipe.styles)
entry = save_weights(FAST_WEIGHTS, state["model"], task="style", arch="FastStyleNet",
                     recipe={**asdict(recipe), "style_names": names},
                     data={"folders": recipe.data, "styles": recipe.styles},
                     metrics={"training": state["history"][-1] if state["history"] else {}})
print(json.dumps({"file": entry.file, "step": state["step"]}))
