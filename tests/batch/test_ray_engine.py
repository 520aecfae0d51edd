"""The Ray engine gives the same bytes as the local engine (local Ray, num_cpus=2).

Skipped when ray is not installed (CI: installing ray[data] took ~4 min here, more than the
suite). Run it with: pip install -e '.[cluster]' && pytest -m slow tests/batch/test_ray_engine.py
"""

import pytest

from neuron_desktop.batch.job import prepare_job
from neuron_desktop.batch.local import run_local
from neuron_desktop.batch.recipe import load_recipe

from .conftest import make_photos

ray = pytest.importorskip("ray", reason="ray not installed (optional extra 'cluster': "
                          "pip install 'neuron-desktop[cluster]')")
pytest.importorskip("ray.data", reason="ray[data] not installed")


@pytest.mark.slow
def test_local_and_ray_outputs_are_bit_identical(tmp_path, cheap_recipe):
    from neuron_desktop.batch.ray_engine import run_ray

    make_photos(tmp_path / "in", 3)
    (tmp_path / "in" / "broken.png").write_bytes(b"not an image")
    recipe = load_recipe(cheap_recipe)
    with prepare_job(recipe, [tmp_path / "in"], tmp_path / "local") as st:
        run_local(recipe, st, workers=0)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with prepare_job(recipe, [tmp_path / "in"], tmp_path / "ray") as st:
            run_ray(recipe, st, actors=1, threads=1)
            counts = st.counts()
    finally:
        ray.shutdown()
    assert (counts.done, counts.failed) == (3, 1)
    local = sorted((tmp_path / "local").glob("*.png"))
    assert [p.name for p in local] == [p.name for p in sorted((tmp_path / "ray").glob("*.png"))]
    for path in local:
        assert path.read_bytes() == (tmp_path / "ray" / path.name).read_bytes(), path.name
