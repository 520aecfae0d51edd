"""Issue 25: `train --init` with a checkpoint that does not fit is an error, not a silent
start from scratch; a pickled checkpoint is refused in one line."""

import pickle

import pytest
import torch

from neuron_desktop.core.errors import NeuronError, describe_failure
from neuron_desktop.models.colorization import ColorizationNet
from neuron_desktop.train.runs import load_init


def test_init_checkpoint_must_fit(tmp_path):
    net = ColorizationNet(width=16, semantic=False)
    own = {k: v.clone() + 1 for k, v in net.trainable_state_dict().items()}
    load_init(net, own, "ok.pt")
    key = next(iter(own))
    assert torch.equal(net.state_dict()[key], own[key])
    other = ColorizationNet(width=8, semantic=False).trainable_state_dict()
    with pytest.raises(NeuronError, match="another shape"):
        load_init(net, other, "narrow.pt")
    with pytest.raises(NeuronError, match="another network"):
        load_init(net, {"conv.weight": torch.zeros(3)}, "alien.pt")
    nan = dict(own)
    nan[key] = own[key].clone().fill_(float("nan"))
    with pytest.raises(NeuronError, match="NaN or infinite"):
        load_init(net, nan, "diverged.pt")


def test_pickled_checkpoint_message():
    message, code = describe_failure(pickle.UnpicklingError("Weights only load failed ..."))
    assert code == 1 and "arbitrary code" in message and "\n" not in message


@pytest.mark.parametrize("what", ["inpaint", "scratches"])
def test_cli_init_misfit_and_pickled_resume_are_one_line_errors(tmp_path, capsys, what):
    """Through `neuron train`: a --init file of another width, one that is not a weights file,
    and --resume over a pickled checkpoint each give one line naming the problem (exit 1),
    never a traceback, an internal error or a silent start from scratch."""
    import numpy as np
    from PIL import Image
    from safetensors.torch import save_file

    from neuron_desktop.cli import main
    from neuron_desktop.models.inpainting import InpaintNet
    from neuron_desktop.models.scratch_net import ScratchNet

    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(
            data / f"p{i}.png")
    cls = InpaintNet if what == "inpaint" else ScratchNet
    wide = tmp_path / "wide.safetensors"
    save_file(cls(width=8).state_dict(), str(wide))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a weights file")
    base = ["train", what, "--data", str(data), "--steps", "1", "--batch", "2", "--crop",
            "32", "--width", "4", "--weights-dir", str(tmp_path / "w"), "-q"]
    for init, words in ((wide, "does not fit"), (junk, "junk.safetensors")):
        assert main([*base, "--run-dir", str(tmp_path / f"run-{init.stem}"), "--init",
                     str(init)]) == 1
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err
        assert "Traceback" not in err and "internal error" not in err, err
    assert not (tmp_path / "w").exists()  # nothing trained, nothing written
    run = tmp_path / "run-pickled"
    run.mkdir()
    torch.save({"evil": pickle.loads(pickle.dumps(_Payload()))}, run / "checkpoint.pt")
    assert main([*base, "--run-dir", str(run), "--resume"]) == 1
    err = capsys.readouterr().err.strip()
    assert "arbitrary code" in err and len(err.splitlines()) == 1, err


class _Payload:  # any class: torch.load(weights_only=True) refuses to unpickle it
    pass
