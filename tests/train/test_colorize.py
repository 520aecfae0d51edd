"""Training pieces: prior/rebalancing from data, resumable loop, stylistic fine-tuning."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.data.hints import random_hint_points
from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.colorization import ColorizationNet, colorizer
from neuron_desktop.models.weights import save_weights
from neuron_desktop.train.colorize import ColorizeRecipe, arch_of, train_colorizer, training_loss


def _palette_photos(folder, n=12, size=96, seed=0):
    """A 'photographer' whose shadows are teal and highlights orange (learnable from L)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    teal, orange = np.array([0.1, 0.45, 0.5]), np.array([1.0, 0.65, 0.3])
    for i in range(n):
        small = rng.random((6, 6))
        lum = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize(
            (size, size), Image.BICUBIC)) / 255.0
        rgb = teal * (1 - lum[..., None]) + orange * lum[..., None]
        Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"p{i:02d}.png")
    return folder


def test_split_is_deterministic_and_disjoint(tmp_path):
    files = list_images([_palette_photos(tmp_path / "d", n=40)])
    train, val = split(files, 0.25)
    assert set(train).isdisjoint(val) and len(train) + len(val) == 40
    assert split(files, 0.25) == (train, val)


def test_random_crops_shape_and_range(tmp_path):
    bank = PhotoBank(list_images([_palette_photos(tmp_path / "d", n=3)]))
    crops = bank.random_crops(np.random.default_rng(0), 5, 64)
    assert crops.shape == (5, 64, 64, 3) and crops.min() >= 0 and crops.max() <= 1


def test_training_resumes_from_checkpoint(tmp_path):
    data = _palette_photos(tmp_path / "d", n=8)
    recipe = ColorizeRecipe(data=[str(data)], steps=2, batch=2, crop=32, width=4,
                            semantic=False, val_every=2, val_fraction=0.0)
    run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu"), log=print))
    recipe.steps = 4
    logs = []
    net, final = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu"),
                                              log=logs.append))
    assert any("resumed" in m for m in logs) and final["step"] == 4
    history = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [2, 4]
    recipe.lr = 0.5  # a different recipe must not silently continue
    with pytest.raises(Exception, match="different recipe"):
        run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))


def test_stylistic_finetune_from_default_weights_lowers_the_loss(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(weights))
    torch.manual_seed(0)
    base = ColorizationNet(width=8, semantic=False)
    save_weights("colorizer", base.trainable_state_dict(), directory=weights,
                 task="colorization", arch="ColorizationNet",
                 preprocessing={"arch": arch_of(base)})
    data = _palette_photos(tmp_path / "palette", n=12)
    recipe = ColorizeRecipe(data=[str(data)], steps=40, batch=6, crop=64, lr=3e-3,
                            lr_final=1e-3, val_fraction=0.0, val_every=40, init="default",
                            p_no_hints=1.0)
    bank = PhotoBank(list_images([data]))
    rng = np.random.default_rng(1)
    batch = torch.from_numpy(bank.random_crops(rng, 8, 64)).permute(0, 3, 1, 2)
    weights_flat = torch.ones(len(base.bins))
    no_hints = random_hint_points(rng, 8, 64, 64, p_none=1.0)

    def loss_of(net):
        net.eval()
        with torch.no_grad():
            return float(training_loss(net, batch, weights_flat, no_hints))

    before = loss_of(colorizer(weights="default"))
    net, _ = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))
    after = loss_of(net)
    assert after < 0.8 * before, (before, after)


def test_a_time_boxed_fine_tune_fed_while_it_runs_keeps_the_prior(tmp_path, monkeypatch):
    """The GPU lease's recipe: --time-budget ends the schedule, --feed parts join the photos,
    worker processes make the batches, --keep-prior keeps the shipped decoding's prior."""
    weights = tmp_path / "weights"
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(weights))
    base = ColorizationNet(width=4, semantic=False)
    with torch.no_grad():
        base.prior_log_weights.copy_(torch.linspace(-1, 1, len(base.bins)))
    save_weights("colorizer", base.state_dict(), directory=weights, task="colorization",
                 arch="ColorizationNet", preprocessing={"arch": arch_of(base)})
    feed = tmp_path / "feed"
    _palette_photos(feed / "p2", n=6, seed=1)
    (feed / "p2" / ".complete").touch()
    recipe = ColorizeRecipe(data=[str(_palette_photos(tmp_path / "d", n=4))], steps=10**6,
                            batch=2, crop=32, val_every=10**6, val_fraction=0.0,
                            init="default", keep_prior=True, time_budget=4.0,
                            feed=str(feed), workers=1)
    logs = []
    net, final = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu"),
                                              log=logs.append))
    assert 0 < final["step"] < 10**6  # stopped by the budget, with a last log entry
    history = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert history[-1]["step"] == final["step"]
    assert torch.allclose(net.prior_log_weights, base.prior_log_weights)
    recipe.time_budget, recipe.workers, recipe.steps = 0.0, 0, final["step"] + 2
    net, final = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu"),
                                              log=logs.append))  # resumes, budget changed
    assert final["step"] == history[-1]["step"] + 2 and any("resumed" in m for m in logs)


def _peaked_logits(net, ab, scale=30.0):
    """Logits that put almost all mass on the bin nearest each pixel's ab."""
    from neuron_desktop.models.colorization import nearest_bin

    idx = nearest_bin(ab, net.bins)
    return scale * torch.nn.functional.one_hot(idx, len(net.bins)).permute(0, 3, 1, 2).float()


def test_decoded_loss_scores_the_automatic_decoding_for_error_and_lost_colour():
    from neuron_desktop.train.colorize import decoded_loss

    net = ColorizationNet(width=4, semantic=False)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    truth = torch.stack([40 * xx, 30 * yy])[None].repeat(2, 1, 1, 1)  # a colourful ab field
    recipe = ColorizeRecipe(decoded_weight=1.0, decoded_colour=0.9, decoded_colour_weight=10.0,
                            decoded_prior_correction=0.0)
    right = float(decoded_loss(net, _peaked_logits(net, truth), truth, recipe))
    gray = float(decoded_loss(net, _peaked_logits(net, truth * 0), truth, recipe))
    half = float(decoded_loss(net, _peaked_logits(net, truth * 0.5), truth, recipe))
    mse_gray = float((truth**2).sum(1).mean() / 100)
    assert right < 0.25  # the truth's own bins: a grid-10 bin's error (2·10²/12/100), colour kept
    assert gray == pytest.approx(mse_gray + 10 * 0.9**2, rel=0.05)  # error + the whole hinge
    assert right < half < gray


def test_decoded_loss_only_joins_for_crops_without_hints(tmp_path):
    net = ColorizationNet(width=4, semantic=False).eval()
    bank = PhotoBank(list_images([_palette_photos(tmp_path / "d", n=3)]))
    rng = np.random.default_rng(0)
    batch = torch.from_numpy(bank.random_crops(rng, 4, 32)).permute(0, 3, 1, 2)
    w = torch.ones(len(net.bins))
    hinted = [[(5, 5, 3)] for _ in range(4)]
    free = [[] for _ in range(4)]
    on = ColorizeRecipe(decoded_weight=1.0)
    with torch.no_grad():
        assert float(training_loss(net, batch, w, hinted, on)) == \
            pytest.approx(float(training_loss(net, batch, w, hinted)))
        assert float(training_loss(net, batch, w, free, on)) > \
            float(training_loss(net, batch, w, free)) + 0.1


def test_a_run_from_before_the_decoded_loss_still_resumes(tmp_path):
    data = _palette_photos(tmp_path / "d", n=8)
    recipe = ColorizeRecipe(data=[str(data)], steps=2, batch=2, crop=32, width=4,
                            semantic=False, val_every=2, val_fraction=0.0)
    run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))
    ckpt = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    state["recipe"] = {k: v for k, v in state["recipe"].items() if not k.startswith("decoded")}
    torch.save(state, ckpt)
    recipe.steps = 3
    _, final = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))
    assert final["step"] == 3
    recipe.decoded_weight = 1.0  # but a run with another loss is another recipe
    with pytest.raises(Exception, match="different recipe"):
        run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))


def _trained_looking(net):
    """Random but non-trivial weights and batch-norm statistics (not the fresh init)."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.startswith("semantic.") or not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            else:
                t.add_(0.1 * torch.randn(t.shape, generator=gen))
    return net.eval()


@pytest.mark.parametrize("semantic", [False, True])
def test_widening_keeps_what_the_network_computes(semantic):
    from neuron_desktop.train.widen import widen_colorizer

    torch.manual_seed(0)
    net = _trained_looking(ColorizationNet(width=4, semantic=semantic, pretrained_semantic=False))
    l = torch.rand(1, 1, 40, 56) * 100
    hint_ab, mask = torch.zeros(1, 2, 40, 56), torch.zeros(1, 1, 40, 56)
    mask[..., 10:13, 20:23], hint_ab[:, 0, 10:13, 20:23] = 1, 35.0
    wide = widen_colorizer(net, 7, noise=0.0).eval()
    assert arch_of(wide)["width"] == 7
    assert sum(p.numel() for p in wide.parameters() if p.requires_grad) > 2 * sum(
        p.numel() for p in net.parameters() if p.requires_grad)
    with torch.no_grad():
        before, after = net(l, hint_ab, mask), wide(l, hint_ab, mask)
        assert torch.allclose(before, after, atol=1e-3 * before.abs().max())
        noisy = widen_colorizer(net, 7, noise=0.05).eval()(l, hint_ab, mask)
    # the copies are set apart a little, so training can make them differ
    assert not torch.allclose(noisy, before, atol=1e-3 * before.abs().max())
    assert (noisy - before).abs().mean() < 0.1 * before.abs().mean()
    with pytest.raises(ValueError, match="cannot widen"):
        widen_colorizer(net, 3)


def test_a_widened_fine_tune_trains_and_resumes(tmp_path, monkeypatch):
    """--init default --widen 6: the run starts from the shipped weights widened, and a
    resumed run widens the same way before loading its checkpoint."""
    weights = tmp_path / "weights"
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(weights))
    base = ColorizationNet(width=4, semantic=False)
    save_weights("colorizer", base.state_dict(), directory=weights, task="colorization",
                 arch="ColorizationNet", preprocessing={"arch": arch_of(base)})
    recipe = ColorizeRecipe(data=[str(_palette_photos(tmp_path / "d", n=6))], steps=2, batch=2,
                            crop=32, val_every=2, val_fraction=0.0, init="default",
                            keep_prior=True, widen=6)
    net, _ = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))
    assert arch_of(net) == {"width": 6, "semantic": False}
    recipe.steps = 3
    logs = []
    net, final = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu"),
                                              log=logs.append))
    assert final["step"] == 3 and any("resumed" in m for m in logs)
    assert arch_of(net)["width"] == 6


def test_cli_widens_and_sets_the_hint_share(tmp_path, monkeypatch):
    """`neuron train colorize --init default --widen 6 --no-hint-share 0.3`: the written
    weights are the wider layout, and the recipe kept with them says how they were made."""
    from neuron_desktop.cli import main

    weights = tmp_path / "weights"
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(weights))
    base = ColorizationNet(width=4, semantic=False)
    save_weights("colorizer", base.state_dict(), directory=weights, task="colorization",
                 arch="ColorizationNet", preprocessing={"arch": arch_of(base)})
    data = _palette_photos(tmp_path / "d", n=6)
    out = tmp_path / "out"
    assert main(["train", "colorize", "--data", str(data), "--init", "default", "--widen", "6",
                 "--no-hint-share", "0.3", "--no-semantic", "--steps", "2", "--batch", "2",
                 "--crop", "32", "--val-fraction", "0", "--run-dir", str(tmp_path / "run"),
                 "--weights-dir", str(out), "--name", "wide", "-q"]) == 0
    entry = json.loads((out / "manifest.json").read_text())["models"]["wide"]
    assert entry["preprocessing"]["arch"] == {"width": 6, "semantic": False}
    assert entry["recipe"]["widen"] == 6 and entry["recipe"]["p_no_hints"] == 0.3


def test_aged_crops_change_only_what_the_network_sees(tmp_path):
    """--aged-share: the network's lightness comes from an aged copy of the crop, and the
    colours it must learn stay the clean crop's."""
    from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
    from neuron_desktop.train.colorize import _batch

    bank = PhotoBank(list_images([_palette_photos(tmp_path / "d", n=3)]))
    crops, _, seen = _batch(bank, ColorizeRecipe(batch=4, crop=32), np.random.default_rng(0))
    assert seen is None
    recipe = ColorizeRecipe(batch=4, crop=32, aged_share=1.0)
    crops, points, seen = _batch(bank, recipe, np.random.default_rng(0))
    again = _batch(bank, recipe, np.random.default_rng(0))
    assert torch.equal(again[2], seen)  # seeded: a resumed run sees the same aged crops
    assert seen.shape == crops.shape and 0 <= float(seen.min()) and float(seen.max()) <= 1
    assert float((seen - crops).abs().mean()) > 0.01  # aged: faded, soft, grainy
    net = ColorizationNet(width=4, semantic=False).eval()
    inputs = []
    net.register_forward_pre_hook(lambda _m, args: inputs.append(args[0].clone()))
    w = torch.ones(len(net.bins))
    lab = rgb_to_lab(crops)
    gray = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))
    with torch.no_grad():
        plain = float(training_loss(net, crops, w, points))
        # the lightness it is given is the shown crop's; the loss's colours stay the clean
        # crop's, so a gray copy with the same L changes nothing
        assert float(training_loss(net, crops, w, points, shown=gray)) == \
            pytest.approx(plain, abs=1e-4)
        training_loss(net, crops, w, points, shown=seen)
    assert torch.allclose(inputs[1], inputs[0], atol=1e-3)
    assert torch.allclose(inputs[2], net.normalize_l(rgb_to_lab(seen)[:, :1]), atol=1e-5)
    assert not torch.allclose(inputs[2], inputs[0], atol=1e-2)


def test_cli_trains_on_aged_crops(tmp_path, monkeypatch):
    from neuron_desktop.cli import main

    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path / "weights"))
    data = _palette_photos(tmp_path / "d", n=6)
    common = ["train", "colorize", "--data", str(data), "--no-semantic", "--width", "4",
              "--steps", "2", "--batch", "2", "--crop", "32", "--val-fraction", "0",
              "--run-dir", str(tmp_path / "run"), "--weights-dir", str(tmp_path / "out"),
              "--name", "aged", "-q"]
    assert main(common + ["--aged-share", "0.5"]) == 0
    entry = json.loads((tmp_path / "out" / "manifest.json").read_text())["models"]["aged"]
    assert entry["recipe"]["aged_share"] == 0.5
    with pytest.raises(SystemExit, match=r"--aged-share must be in \[0, 1\]"):
        main(common + ["--aged-share", "2"])


def test_adversarial_loss_joins_only_for_free_crops_and_hands_the_critic_its_inputs(tmp_path):
    from neuron_desktop.train.colorize import colour_critic, critic_step

    net = ColorizationNet(width=4, semantic=False).eval()
    bank = PhotoBank(list_images([_palette_photos(tmp_path / "d", n=3)]))
    batch = torch.from_numpy(bank.random_crops(np.random.default_rng(0), 4, 32)).permute(0, 3, 1, 2)
    w = torch.ones(len(net.bins))
    critic = colour_critic()
    on = ColorizeRecipe(adv_weight=1.0)
    hinted = [[(5, 5, 3)] for _ in range(4)]
    free = [[], [(5, 5, 3)], [], []]
    pairs: list = []
    with torch.no_grad():
        assert float(training_loss(net, batch, w, hinted, on, critic=critic,
                                   critic_pairs=pairs)) \
            == pytest.approx(float(training_loss(net, batch, w, hinted)))
        assert pairs == []
        plain = float(training_loss(net, batch, w, free))
    loss = training_loss(net, batch, w, free, on, critic=critic, critic_pairs=pairs)
    assert float(loss.detach()) != pytest.approx(plain)
    real, fake = pairs
    assert real.shape == fake.shape == (3, 3, 16, 16) and not fake.requires_grad
    loss.backward()  # the generator's gradient reaches the network through the decoding
    assert net.head.weight.grad.abs().sum() > 0
    # the critic learns to tell the true colours from the decoding's
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.99))
    first = critic_step(critic, opt, pairs)
    for _ in range(30):
        last = critic_step(critic, opt, pairs)
    assert last < first - 0.2


def test_an_adversarial_run_saves_and_resumes_its_critic(tmp_path):
    data = _palette_photos(tmp_path / "d", n=8)
    recipe = ColorizeRecipe(data=[str(data)], steps=2, batch=2, crop=32, width=4,
                            semantic=False, val_every=2, val_fraction=0.0, p_no_hints=1.0,
                            adv_weight=0.1)
    run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu")))
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["critic"] and state["critic_optimizer"]["state"]
    recipe.steps = 3
    logs = []
    _, final = run_pipeline(train_colorizer(recipe, tmp_path / "run", torch.device("cpu"),
                                            log=logs.append))
    assert final["step"] == 3 and any("resumed" in m for m in logs)
    after = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["critic"]
    assert any(not torch.equal(after[k], state["critic"][k]) for k in after)


def test_cli_trains_against_a_critic(tmp_path, monkeypatch):
    from neuron_desktop.cli import main

    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path / "weights"))
    data = _palette_photos(tmp_path / "d", n=6)
    assert main(["train", "colorize", "--data", str(data), "--no-semantic", "--width", "4",
                 "--steps", "2", "--batch", "2", "--crop", "32", "--val-fraction", "0",
                 "--no-hint-share", "1", "--adv-weight", "0.2", "--adv-lr", "1e-3",
                 "--run-dir", str(tmp_path / "run"), "--weights-dir", str(tmp_path / "out"),
                 "--name", "critic", "-q"]) == 0
    entry = json.loads((tmp_path / "out" / "manifest.json").read_text())["models"]["critic"]
    assert entry["recipe"]["adv_weight"] == 0.2 and entry["recipe"]["adv_lr"] == 1e-3
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert "critic" in state
