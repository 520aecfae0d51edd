"""Recipe parsing and validation: errors name the file and the line."""

import pytest

from neuron_desktop.batch.recipe import RecipeError, load_recipe, parse_recipe, shipped_recipes
from neuron_desktop.batch.steps import STEPS

from .conftest import CHEAP


def test_shipped_recipes_parse():
    assert shipped_recipes() == ["clean-scratches", "colorize-only", "restore-scan"]
    restore = load_recipe("restore-scan")
    assert [s.use for s in restore.steps] == ["detect-scratches", "inpaint", "colorize",
                                              "export"]
    assert restore.export.params == {"format": "tiff", "bit_depth": 16, "quality": 95,
                                     "suffix": ""}
    assert load_recipe("colorize-only").export.params["format"] == "jpeg"


def test_defaults_filled_and_line_numbers():
    r = parse_recipe(CHEAP, "cheap.toml")
    assert r.name == "cheap"
    assert r.steps[0].params == {"sensitivity": 0.5, "method": "classical",
                                 "protect_faces": False}
    assert [s.line for s in r.steps] == [4, 8, 12, 16]


def test_steps_come_from_the_capability_declarations():
    from neuron_desktop.capabilities import all_capabilities
    from neuron_desktop.pipelines import colorize

    colorize_step = STEPS["colorize"].params
    assert colorize_step["temperature"].default == colorize.DEFAULT_TEMPERATURE
    assert colorize_step["render_size"].default == colorize.DEFAULT_RENDER_SIZE
    assert colorize_step["prior_correction"].default is None  # the pipeline decides
    assert "confidence" not in colorize_step  # a per-photo file: not a recipe parameter
    assert set(STEPS) == {c.name for c in all_capabilities()} | {"export"}


def _error(text: str) -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "r.toml")
    return str(info.value)


@pytest.mark.parametrize("text, expected", [
    ('[[step]]\nuse = "colorize"\ntemperature = \n', "r.toml:3: not valid TOML"),
    ('[[step]]\nuse = "colorise"\n', "r.toml:2: unknown step 'colorise' (available: "),
    ('[[step]]\nuse = "colorize"\n\ntemperature = 5\n[[step]]\nuse = "export"\n',
     "r.toml:4: colorize: temperature must be in [0.01, 2], got 5.0"),
    ('[[step]]\nuse = "colorize"\nrefine = "yes"\n[[step]]\nuse = "export"\n',
     "r.toml:3: colorize: refine must be bool, got 'yes'"),
    ('[[step]]\nuse = "colorize"\nvivid = 1\n[[step]]\nuse = "export"\n',
     "r.toml:3: colorize: unknown parameter 'vivid'"),
    ('[[step]]\nuse = "export"\nformat = "gif"\n',
     "r.toml:3: export: format must be one of tiff, png, jpeg, webp, got 'gif'"),
    ('[[step]]\nuse = "colorize"\n', "r.toml:1: the last step must be 'export'"),
    ('[[step]]\nuse = "inpaint"\n[[step]]\nuse = "export"\n',
     "r.toml:1: inpaint needs a mask: put a 'detect-scratches' step before it"),
    ('[recipe]\nname = "x"\n', "r.toml:1: a recipe needs at least one [[step]]"),
    ('[recipe]\nname = "x"\nformat = 2\n[[step]]\nuse = "export"\n',
     "r.toml:3: recipe format 2 is not supported"),
    ('[[step]]\nsensitivity = 1\n', "r.toml:1: step has no 'use"),
    ('[steps]\nuse = "export"\n', "r.toml:1: unknown table or key 'steps'"),
])
def test_errors_name_the_line(text, expected):
    assert _error(text).startswith(expected)


def test_missing_recipe_lists_the_shipped_ones(tmp_path):
    with pytest.raises(RecipeError, match="restore-scan"):
        load_recipe(tmp_path / "nope.toml")


def test_dump_recipe_round_trips():
    from neuron_desktop.batch.recipe import dump_recipe

    text = dump_recipe("from editor \"x\"", [("detect-scratches", {"sensitivity": 0.7}),
                                             ("inpaint", {"method": "harmonic"}),
                                             ("colorize", {"refine": False, "render_size": 320})])
    r = parse_recipe(text)
    assert r.name == 'from editor "x"'
    assert [s.use for s in r.steps] == ["detect-scratches", "inpaint", "colorize", "export"]
    assert r.steps[2].params["refine"] is False and r.steps[2].params["render_size"] == 320
    with pytest.raises(RecipeError, match="temperature"):
        dump_recipe("bad", [("colorize", {"temperature": 9.0})])
