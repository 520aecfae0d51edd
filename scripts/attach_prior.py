"""Store the training data's class-rebalancing weights in a colorizer weights file
(`prior_log_weights`), for weights trained before the loop saved them.

    .venv/bin/python scripts/attach_prior.py [--name colorizer]
"""

from __future__ import annotations

import argparse

import torch

from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.colorization import ColorizationNet, rebalance_weights
from neuron_desktop.models.weights import get_entry, load_weights, save_weights
from neuron_desktop.train.colorize import ColorizeRecipe, bin_prior


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="colorizer")
    args = parser.parse_args()
    entry = get_entry(args.name)
    recipe = ColorizeRecipe(**{k: v for k, v in entry.recipe.items()
                               if k in ColorizeRecipe.__dataclass_fields__})
    train, _ = split(list_images(recipe.data), recipe.val_fraction)
    bins = ColorizationNet(semantic=False).bins
    weights = rebalance_weights(bin_prior(PhotoBank(train), bins), bins,
                                lam=recipe.rebalance_lambda)
    state = load_weights(args.name)
    state["prior_log_weights"] = torch.log(weights)
    save_weights(args.name, state, task=entry.task, arch=entry.arch, recipe=entry.recipe,
                 data=entry.data, metrics=entry.metrics, preprocessing=entry.preprocessing)
    print(f"stored prior_log_weights in {entry.file} (range {weights.min():.3f}..."
          f"{weights.max():.3f})")


if __name__ == "__main__":
    main()
