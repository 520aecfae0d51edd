"""Protect faces for scratch detection: face boxes on the bundled portrait, the protection
rule on synthetic masks, and detect_scratches(protect_faces=...) end to end."""

import numpy as np
import pytest
import torch

from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.pipelines import faces
from neuron_desktop.pipelines import scratches as ps

pytestmark = pytest.mark.skipif(faces.unavailable() is not None, reason="no face detector")


@pytest.fixture(scope="module")
def portrait():
    return load_image(samples_dir() / "astronaut.jpg").rgb


def test_the_portrait_face_is_found(portrait):
    boxes = faces.face_boxes(portrait)
    # the astronaut's face: around x 170-280, y 60-170 of the 512 px sample
    assert any(abs(x + w / 2 - 226) < 25 and abs(y + h / 2 - 118) < 25 and 70 < w < 160
               for x, y, w, h in boxes), boxes
    assert faces.face_boxes(np.zeros((200, 300, 3), np.float32)) == []


def test_protect_keeps_crossing_scratches_and_drops_feature_marks():
    box = (100, 100, 100, 100)
    marks = np.zeros((400, 400), bool)
    marks[138, 120:140] = True  # on the left eye (ellipse centre 131, 138)
    marks[60:340, 250] = True  # outside the face
    marks[20:380, 160] = True  # a long scratch crossing the face: mostly outside it
    marks[170:175, 110:115] = True  # a speck on the cheek, inside the face
    out = faces.protect(marks, [box])
    assert not out[138, 120:140].any()
    assert out[60:340, 250].all() and out[20:380, 160].all()
    assert not out[170:175, 110:115].any()
    strict = np.zeros_like(marks)
    strict[170:175, 110:115] = True  # a clear speck: the stricter detection finds it too
    strict[138, 120:140] = True  # ... but never on a feature
    out = faces.protect(marks, [box], strict)
    assert out[170:175, 110:115].all() and not out[138, 120:140].any()
    assert np.array_equal(faces.protect(marks, []), marks)


def test_detect_scratches_with_protect_faces(portrait):
    image = to_tensor(portrait)
    plain = run_pipeline(ps.detect_scratches(image, sensitivity=0.8, method="classical"))
    same = run_pipeline(ps.detect_scratches(image, sensitivity=0.8, method="classical",
                                            protect_faces=False))
    assert torch.equal(plain, same)  # off: the pipeline's output is unchanged
    kept = run_pipeline(ps.detect_scratches(image, sensitivity=0.8, method="classical",
                                            protect_faces=True))
    p, k = plain[0, 0].numpy() > 0.5, kept[0, 0].numpy() > 0.5
    assert not (k & ~p).any()  # it only removes marks
    on_face = faces.face_mask(p.shape, faces.face_boxes(portrait))
    assert (k & on_face).sum() < 0.5 * (p & on_face).sum()
    assert (k & ~on_face).sum() >= 0.95 * (p & ~on_face).sum()
