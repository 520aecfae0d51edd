"""Scan basics in batch recipes: the steps come from the capability declarations."""

import numpy as np
import pytest

from neuron_desktop.batch.recipe import RecipeError, parse_recipe
from neuron_desktop.batch.steps import STEPS, Processor
from neuron_desktop.core.imageio import load_image

from .conftest import make_photos

RECIPE = """\
[recipe]
name = "scan"

[[step]]
use = "rotate"
turn = "left"

[[step]]
use = "crop"
x = 4
y = 2
width = 30
height = 40

[[step]]
use = "levels"
black = 20
gamma = 1.2

[[step]]
use = "white-balance"

[[step]]
use = "export"
format = "png"
"""


def test_scan_recipe_turns_crops_and_tones(tmp_path):
    src = make_photos(tmp_path / "in", 1, size=(64, 48))[0]
    recipe = parse_recipe(RECIPE, "scan.toml")
    out = tmp_path / "out.png"
    row = Processor(recipe, device="cpu")({"key": "a", "input": str(src), "output": str(out)})
    assert row["status"] == "done", row
    img = load_image(out).rgb
    assert img.shape[:2] == (40, 30)  # turned to 48 x 64, then cropped
    ref = np.rot90(load_image(src).rgb, 1)[2:42, 4:34]
    ref = np.clip((ref - 20 / 255) / (235 / 255), 0, 1) ** (1 / 1.2)
    np.testing.assert_allclose(img, ref, atol=2.5 / 255)  # grey: white balance keeps it


def test_scan_step_parameters_are_checked():
    assert {"crop", "straighten", "curves", "white-balance"} <= set(STEPS)
    with pytest.raises(RecipeError, match="gamma"):
        parse_recipe(RECIPE.replace("gamma = 1.2", "gamma = 50.0"), "bad.toml")
    with pytest.raises(RecipeError, match="turn"):
        parse_recipe(RECIPE.replace('turn = "left"', 'turn = "up"'), "bad.toml")
    assert np.isclose(STEPS["straighten"].params["angle"].default, 0.0)
