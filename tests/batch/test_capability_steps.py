"""Every capability is a recipe step generated from its declaration (or says why not)."""

import numpy as np
import pytest

from neuron_desktop.batch import steps
from neuron_desktop.batch.recipe import RecipeError, parse_recipe
from neuron_desktop.batch.steps import NOT_BATCHABLE, STEPS, Processor
from neuron_desktop.capabilities import Inputs, all_capabilities, get
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.core.record import read_record

from .conftest import make_photos

# Values for required parameters (no default a recipe could fall back on). A capability
# that gains a required parameter must add an example here.
REQUIRED = {("stylize", "style"): "van_gogh_starry_night_1889"}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, int | float) else f'"{value}"'


def _recipe(*steps_: tuple[str, dict]) -> str:
    text = ""
    for use, params in (*steps_, ("export", {"format": "png", "bit_depth": 8})):
        text += f'[[step]]\nuse = "{use}"\n'
        text += "".join(f"{k} = {_toml(v)}\n" for k, v in params.items())
    return text


def _run(tmp_path, text: str, n: int = 1):
    recipe = parse_recipe(text, "r.toml")
    src = make_photos(tmp_path / "in", n, size=(40, 32))
    processor = Processor(recipe, device="cpu")
    rows = [processor({"key": p.name, "input": str(p), "output": str(tmp_path / p.name)})
            for p in src]
    return src, rows


def test_every_capability_is_a_step_or_says_why_not():
    for cap in all_capabilities():
        if cap.name in NOT_BATCHABLE:
            assert cap.name not in STEPS and len(cap.not_batchable) > 10, cap.name
            continue
        step = STEPS[cap.name]
        declared = [p for p in cap.params if p.in_recipe]
        assert list(step.params) == [p.name for p in declared], cap.name
        for p in declared:  # type, default, range and choices come from the declaration
            rp = step.params[p.name]
            assert (rp.type, rp.default, rp.lo, rp.hi, rp.required) == (
                p.kind, p.default, p.min, p.max, p.required), (cap.name, p.name)
            assert rp.choices == tuple(c.value for c in p.choices), (cap.name, p.name)
            if p.required:
                assert (cap.name, p.name) in REQUIRED, f"add an example for {p.name}"
    assert "export" in STEPS


@pytest.mark.parametrize("name", [c.name for c in all_capabilities()
                                  if c.name not in NOT_BATCHABLE])
def test_every_capability_runs_as_a_recipe_step(tmp_path, name):
    cap = get(name)
    params = {k: v for (c, k), v in REQUIRED.items() if c == name}
    chain = [("detect-scratches", {"method": "classical", "sensitivity": 1.0})] \
        if "mask" in cap.needs else []
    _, rows = _run(tmp_path, _recipe(*chain, (name, params)))
    assert rows[0]["status"] == "done", rows[0]
    record = read_record(tmp_path / "photo000.png")
    assert [s.name for s in record.steps] == [*(c for c, _ in chain), name, "export"]
    step = record.steps[-2]
    assert "skipped" not in step.settings, step.settings
    used = cap.weights_used({**cap.defaults(), **params}, "cpu")
    assert [m.name for m in step.models] == list(used)


def test_not_batchable_capability_is_refused_with_its_reason(monkeypatch):
    monkeypatch.setitem(NOT_BATCHABLE, "denoise", "it needs a person to pick the spots")
    monkeypatch.delitem(STEPS, "denoise")
    with pytest.raises(RecipeError, match="r.toml:2: 'denoise' cannot be a batch step: it "
                                          "needs a person"):
        parse_recipe(_recipe(("denoise", {})), "r.toml")


def test_restore_and_denoise_recipe_on_a_tiny_image(tmp_path):
    text = _recipe(("restore", {"strength": 0.8}), ("denoise", {"strength": 0.7}))
    src, rows = _run(tmp_path, text)
    assert rows[0]["status"] == "done", rows[0]
    out = load_image(tmp_path / "photo000.png").rgb
    # the same as running the two capabilities' pipelines by hand (8-bit PNG rounding)
    image = to_tensor(load_image(src[0]).rgb)
    for name, params in (("restore", {"strength": 0.8}), ("denoise", {"strength": 0.7})):
        image = run_pipeline(get(name).pipeline(Inputs(image), params, device="cpu"))
    expected = image[0].permute(1, 2, 0).clamp(0, 1).numpy()
    np.testing.assert_allclose(out, expected, atol=0.6 / 255)
    assert np.abs(out - load_image(src[0]).rgb).mean() > 1 / 255  # it did something
    record = read_record(tmp_path / "photo000.png")
    assert [(s.name, s.settings, [m.name for m in s.models]) for s in record.steps[:2]] == [
        ("restore", {"strength": 0.8, "keep_tone": True}, ["restorer"]),
        ("denoise", {"strength": 0.7}, [])]


@pytest.mark.parametrize("step, expected", [
    ('use = "denoise"\nstrength = 2.0\n', "r.toml:3: denoise: strength must be in [0, 1], "
                                          "got 2.0"),
    ('use = "restore"\nkeep_tone = 1\n', "r.toml:3: restore: keep_tone must be bool, got 1"),
    ('use = "stylize"\nstrength = 0.5\n', "r.toml:1: stylize: 'style' is required"),
    ('use = "colorize"\nconfidence = "c.png"\n',
     "r.toml:3: colorize: unknown parameter 'confidence'"),
])
def test_declared_types_and_ranges_are_checked_with_the_line(step, expected):
    with pytest.raises(RecipeError) as info:
        parse_recipe(f'[[step]]\n{step}[[step]]\nuse = "export"\n', "r.toml")
    assert str(info.value).startswith(expected)


def test_declared_cross_parameter_checks_name_the_line():
    with pytest.raises(RecipeError, match=r"r.toml:3: levels: the white point \(100\) must "
                                          r"be above the black point \(200\)"):
        parse_recipe(_recipe(("denoise", {}), ("levels", {"black": 200, "white": 100})),
                     "r.toml")
    with pytest.raises(RecipeError, match="r.toml:1: stylize: .*no_such_style"):
        parse_recipe(_recipe(("stylize", {"style": "no_such_style"})), "r.toml")


def test_a_missing_model_is_one_error_naming_the_line(tmp_path, monkeypatch):
    from neuron_desktop.batch.job import prepare_job
    from neuron_desktop.batch.local import run_local
    from neuron_desktop.models import weights

    recipe = parse_recipe(_recipe(("denoise", {}), ("restore", {})), "r.toml")
    make_photos(tmp_path / "in", 1)
    real = weights.installed
    monkeypatch.setattr(weights, "installed", lambda name: name != "restorer" and real(name))
    with prepare_job(recipe, [tmp_path / "in"], tmp_path / "out") as state:
        for workers in (0, 2):  # before any worker process starts
            with pytest.raises(NeuronError, match="r.toml:3: restore: model not installed "
                                                  r"\(weights restorer\)"):
                run_local(recipe, state, workers=workers)
    with pytest.raises(NeuronError, match="r.toml:3: restore: Restore model not installed"):
        Processor(recipe, device="cpu")


def test_models_load_once_per_worker(tmp_path, monkeypatch):
    from neuron_desktop.models import registry

    built = []
    real = registry.build
    monkeypatch.setattr(registry, "build", lambda entry: built.append(entry) or real(entry))
    registry._cached.cache_clear()
    _, rows = _run(tmp_path, _recipe(("restore", {}), ("colorize", {"render_size": 64})), n=3)
    assert [r["status"] for r in rows] == ["done"] * 3
    assert sorted(e.name for e in built) == ["colorizer", "restorer"]
    assert steps.STEPS["restore"].models({"strength": 1.0, "keep_tone": True}, "cpu") == [
        "restorer"]
