"""What would go silently wrong on a GPU, checked on the CPU: host synchronisation inside the
training step, the loss's dtype under autocast, metrics on the module's device, non-blocking
copies from pinned memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as F
from lightning.fabric.utilities.apply_func import move_data_to_device
from torch.utils._python_dispatch import TorchDispatchMode

from data_modules import UCF101, EvalTransform, RandomClipSampler, VideoDataModule
from videovision.cli import VideoVisionCLI
from videovision.objectives import VCOPObjective
from videovision.tasks import SSLPretrainModule, VideoClassifier

from .conftest import CONFIGS

# Ops that make the host wait for the device: a tensor read as a Python number (item, bool, int,
# float all reach _local_scalar_dense) or an output whose size depends on the values.
SYNCING_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique2", "unique_consecutive"}


class _SyncRecorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name.split("::")[-1]
        bool_index = name.startswith("index") and any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in (args[1] if len(args) > 1 else None) or []
        )
        if name in SYNCING_OPS or bool_index:
            self.calls.append(name)
        return func(*args, **(kwargs or {}))


@contextmanager
def host_syncs(monkeypatch) -> Iterator[list[str]]:
    """Names of the calls inside the block that would wait for a GPU: syncing ops as they dispatch, and
    the copies to the host that do not dispatch on a CPU tensor (``tolist``, ``cpu``, ``numpy``, ``to("cpu")``)."""
    recorder = _SyncRecorder()
    with monkeypatch.context() as patch:
        for name in ("tolist", "cpu", "numpy"):
            original = getattr(torch.Tensor, name)

            def recorded(self, *args, _name=name, _original=original, **kwargs):
                recorder.calls.append(_name)
                return _original(self, *args, **kwargs)

            patch.setattr(torch.Tensor, name, recorded)
        to = torch.Tensor.to

        def recorded_to(self, *args, **kwargs):
            target = kwargs.get("device", args[0] if args else None)
            if isinstance(target, str) and target.startswith("cpu"):  # x.to(y.device) is not a sync: y is on the GPU
                recorder.calls.append("to(cpu)")
            return to(self, *args, **kwargs)

        patch.setattr(torch.Tensor, "to", recorded_to)
        with recorder:
            yield recorder.calls


def test_the_recorder_sees_each_kind_of_host_sync(monkeypatch):
    x = torch.arange(4.0)
    with host_syncs(monkeypatch) as calls:
        if (x > 2).any():  # Tensor.__bool__
            x[x > 2].sum().item()  # a boolean index, then item
        float(x[0]), int(x[1]), x.tolist(), x.cpu(), x.to("cpu"), x.numpy()
        y = x * 2 + 1  # no sync
    assert calls == ["_local_scalar_dense", "index", "_local_scalar_dense"] + ["_local_scalar_dense"] * 2 + [
        "tolist",
        "cpu",
        "to(cpu)",
        "numpy",
    ]
    assert y.shape == (4,)


def _tiny_cli(cli_env, config: str, *extra: str) -> VideoVisionCLI:
    return VideoVisionCLI(args=[f"--config={CONFIGS / config}", *cli_env, "--trainer.max_steps=2", *extra], run=False)


@pytest.mark.parametrize(
    "config, precision, extra",
    [
        ("tiny_pretrain.yaml", "32-true", ()),
        ("tiny_pretrain.yaml", "bf16-mixed", ()),
        ("tiny_probe.yaml", "32-true", ()),
        ("tiny_probe.yaml", "bf16-mixed", ("--model.init_args.freeze_encoder=false",)),
    ],
    ids=["ssl-pretrain-32", "ssl-pretrain-bf16", "linear-probe-32", "fine-tune-bf16"],
)
def test_training_steps_never_wait_for_the_device_and_return_a_float32_loss(
    cli_env, monkeypatch, config, extra, precision
):
    cli = _tiny_cli(cli_env, config, f"--trainer.precision={precision}", *extra)
    step, seen, losses = cli.model.training_step, [], []

    def watched(*args, **kwargs):
        with host_syncs(monkeypatch) as calls:
            loss = step(*args, **kwargs)
        seen.extend(calls)
        losses.append(loss)
        return loss

    cli.model.training_step = watched
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert len(losses) == 2
    assert seen == [], f"host synchronisation inside training_step: {seen}"
    assert {loss.dtype for loss in losses} == {torch.float32}  # what the optimiser (and a GradScaler) gets
    assert all(torch.isfinite(loss) for loss in losses)


class _TinyEncoder(torch.nn.Module):
    out_dim = 4


def test_online_probe_loss_is_the_mean_over_labelled_rows_without_a_boolean_index():
    torch.manual_seed(0)
    module = SSLPretrainModule(_TinyEncoder(), [VCOPObjective], num_classes=3)
    features, labels = torch.randn(5, 4), torch.tensor([2, -1, 0, -1, 1])
    labelled = labels >= 0
    by_hand = F.cross_entropy(module.online_probe(features[labelled]), labels[labelled])
    (grad_by_hand,) = torch.autograd.grad(by_hand, module.online_probe.weight)
    loss = module._online_probe_loss(features, labels)
    (grad,) = torch.autograd.grad(loss, module.online_probe.weight)
    torch.testing.assert_close(loss, by_hand)
    torch.testing.assert_close(grad, grad_by_hand)
    none = module._online_probe_loss(features * 1e30, torch.full((5,), -1))  # huge logits: still 0, no NaN
    assert none.item() == 0.0
    (grad,) = torch.autograd.grad(none, module.online_probe.weight)
    assert torch.equal(grad, torch.zeros_like(grad))


def test_unlabelled_rows_of_the_knn_bank_do_not_vote():
    torch.manual_seed(0)
    bank, bank_labels = torch.randn(12, 4), torch.arange(12) % 3
    queries, labels = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    val = [(queries, torch.randn(6, 3).softmax(1), labels, torch.arange(6))]

    def scores(bank_parts):
        module = SSLPretrainModule(_TinyEncoder(), [VCOPObjective], num_classes=3, knn_k=3)
        module._val, module._bank = list(val), list(bank_parts)
        logged = {}
        module.log = lambda key, value, **kwargs: logged.__setitem__(key, float(value))
        module.on_validation_epoch_end()
        return logged

    unlabelled = (torch.randn(7, 4) * 10, torch.full((7,), -1), torch.arange(20, 27))
    mixed = scores(
        [(bank[:5], bank_labels[:5], torch.arange(5)), unlabelled, (bank[5:], bank_labels[5:], torch.arange(5, 12))]
    )
    assert mixed == scores([(bank, bank_labels, torch.arange(12))])
    assert "val/knn_top1" not in scores([unlabelled])  # no labelled row: no kNN


def test_video_level_metrics_are_made_on_the_module_device(tiny_digits, cli_env):
    cli = _tiny_cli(cli_env, "tiny_probe.yaml")
    module: VideoClassifier = cli.model
    logged = {}
    module.log_dict = lambda metrics, **kwargs: logged.update(metrics)
    module._outputs = [(torch.arange(4), torch.full((4, 8), 1 / 8), torch.tensor([0, 1, 2, 3]))]
    torch.set_default_device("meta")  # a tensor made without a device would land here, not beside the outputs
    try:
        module._eval_epoch_end("test")
    finally:
        torch.set_default_device(None)
    assert {k: v.device.type for k, v in logged.items()} == dict.fromkeys(logged, "cpu")
    assert float(logged["test/videos"]) == 4.0


def test_batches_travel_non_blocking_only_from_pinned_memory(tiny_digits, monkeypatch, tmp_path):
    data = VideoDataModule(
        UCF101(str(tiny_digits)), RandomClipSampler(clip_len=4), batch_size=2, num_workers=0, cache_dir=str(tmp_path)
    )
    data.prepare_data()
    data.setup("fit")
    assert data.train_dataloader().pin_memory is False  # no CUDA here: nothing to pin
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert data.train_dataloader().pin_memory is True
    monkeypatch.undo()

    # Lightning's default transfer (LightningModule.transfer_batch_to_device) copies every tensor of
    # the batch to a GPU with non_blocking=True: from the pinned loader above that copy is asynchronous.
    batch = next(iter(data.train_dataloader()))
    copies = []
    monkeypatch.setattr(
        torch.Tensor, "to", lambda self, *args, **kwargs: copies.append((args, kwargs)) or self, raising=True
    )
    move_data_to_device(batch, torch.device("cuda", 0))
    tensors = [k for k, v in batch.items() if isinstance(v, torch.Tensor)]
    assert len(copies) == len(tensors) > 0
    assert all(kwargs.get("non_blocking") is True for _, kwargs in copies)


def test_the_augmentation_moves_its_normalisation_to_the_device_once(monkeypatch):
    """A blocking copy to the GPU at every batch (``mean.to(device)``) would wait for the GPU each step."""
    transform = EvalTransform(resize=32, crop_size=32)
    clips = torch.randint(0, 256, (2, 1, 2, 3, 40, 48), dtype=torch.uint8)
    expected = transform(clips)
    moves = []
    to = torch.Tensor.to

    def recorded_to(self, *args, **kwargs):
        if "device" in kwargs or (args and isinstance(args[0], (str, torch.device))):
            moves.append((args, kwargs))
        return to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", recorded_to)
    torch.testing.assert_close(transform(clips), expected)
    torch.testing.assert_close(transform(clips), expected)
    assert moves == []
