"""`neuron stylize` (gallery styles, blends, image styles, folders, errors) and
`neuron train style --style` (adding a style to the shipped network)."""

import numpy as np
import pytest
from PIL import Image

from neuron_desktop.cli import main
from neuron_desktop.pipelines import stylize as st


def _photo(path, seed=0, h=72, w=96):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x / w, y / h, (x + y) / (h + w)], -1) * 200 + rng.normal(0, 8, (h, w, 3))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


def _style(path):
    y, x = np.mgrid[0:64, 0:64]
    img = np.where(((x + y) // 4 % 2)[..., None] == 1, [240, 210, 30], [20, 50, 200])
    Image.fromarray(img.astype(np.uint8)).save(path)
    return path


def _read(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255


def test_stylize_gallery_style_and_blend(tmp_path):
    photo = _photo(tmp_path / "p.png")
    name = st.gallery_styles()[0]
    out = tmp_path / "out.png"
    assert main(["stylize", str(photo), "--style", name, "-o", str(out), "-q"]) == 0
    a = _read(out)
    assert a.shape == _read(photo).shape and np.abs(a - _read(photo)).mean() > 0.03
    other = st.gallery_styles()[1]
    blend = tmp_path / "blend.png"
    assert main(["stylize", str(photo), "--style", f"{name}=1,{other}=1", "-o", str(blend),
                 "-q"]) == 0
    assert not np.array_equal(_read(blend), a)
    half = tmp_path / "half.png"
    assert main(["stylize", str(photo), "--style", name, "--strength", "0.5", "-o", str(half),
                 "-q"]) == 0
    assert np.abs(_read(half) - _read(photo)).mean() < np.abs(a - _read(photo)).mean()


def test_stylize_with_a_style_image_uses_gatys(tmp_path):
    photo = _photo(tmp_path / "p.png")
    out = tmp_path / "out.png"
    code = main(["stylize", str(photo), "--style", str(_style(tmp_path / "s.png")),
                 "--size", "48", "--iterations", "3", "-o", str(out), "-q"])
    assert code == 0
    assert _read(out).shape == _read(photo).shape  # back at the photo's resolution


def test_stylize_arbitrary_with_any_style_image(tmp_path):
    photo = _photo(tmp_path / "p.png", h=90, w=130)
    style = _style(tmp_path / "s.png")  # yellow/blue stripes: never seen by the network
    out, weak = tmp_path / "out.png", tmp_path / "weak.png"
    assert main(["stylize", str(photo), "--style", str(style), "--method", "arbitrary",
                 "-o", str(out), "-q"]) == 0
    a, p = _read(out), _read(photo)
    assert a.shape == p.shape and np.abs(a - p).mean() > 0.05
    # the result takes the style's colours: mostly yellow or blue, little of the photo's red
    assert np.corrcoef(a[..., 0].ravel(), a[..., 1].ravel())[0, 1] > 0.5
    assert main(["stylize", str(photo), "--style", str(style), "--method", "arbitrary",
                 "--strength", "0.3", "-o", str(weak), "-q"]) == 0
    assert np.abs(_read(weak) - p).mean() < np.abs(a - p).mean()


@pytest.mark.parametrize("args, message", [
    (["--style", "no_such_style"], "unknown style"),
    (["--style", "missing.png", "--method", "gatys"], "not found"),
    (["--style", "missing.png", "--method", "arbitrary"], "not found"),
])
def test_stylize_errors(tmp_path, capsys, args, message):
    photo = _photo(tmp_path / "p.png")
    assert main(["stylize", str(photo), *args, "-o", str(tmp_path / "o.png"), "-q"]) != 0
    assert message in capsys.readouterr().err


def test_stylize_folder_reports_a_bad_file_and_goes_on(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    _photo(folder / "a.png")
    (folder / "b.png").write_bytes(b"not an image")
    _photo(folder / "c.png", seed=1)
    out = tmp_path / "out"
    code = main(["stylize", str(folder), "--style", st.gallery_styles()[0], "-o", str(out),
                 "-q"])
    assert code == 1
    assert (out / "a.png").exists() and (out / "c.png").exists() and not (out / "b.png").exists()
    assert "b.png" in capsys.readouterr().err


def test_train_style_adds_a_user_style(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(3):
        _photo(data / f"p{i}.png", seed=i, h=80, w=80)
    styles = tmp_path / "styles"
    code = main(["train", "style", "--style", str(_style(tmp_path / "stripes.png")),
                 "--name", "stripes", "--data", str(data), "--steps", "2", "--batch", "1",
                 "--crop", "32", "--out-dir", str(styles), "-q"])
    assert code == 0 and (styles / "stripes.safetensors").exists()
    bank = st.load_style_bank(user_dir=styles)
    assert bank.names[-1] == "stripes" and len(bank.names) == len(st.gallery_styles()) + 1
