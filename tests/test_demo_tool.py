"""``videovision demo`` (``make demo``): one pretraining, then the probe on its encoder and on a random init, each at
10 % and 100 % of the labels; the served probe (SSL, all labels) lands where ``serve`` looks, and a re-run replaces
the checkpoints instead of versioning them beside the old ones."""

from __future__ import annotations

import json

import torch

from videovision import runs
from videovision.tools import demo


def test_demo_probes_both_encoders_at_both_label_fractions(tiny_digits, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    calls = []
    fit_and_test = runs.fit_and_test

    def spy(config, overrides, cli_args=()):
        calls.append((overrides["model.init_args.pretrained"], overrides["data.init_args.label_fraction"]))
        calls[-1] += (overrides[runs.CHECKPOINT_DIR],)
        return fit_and_test(config, overrides, cli_args)

    monkeypatch.setattr(runs, "fit_and_test", spy)
    reader = {"class_path": "data_modules.UCF101", "init_args": {"root": str(tiny_digits)}}  # as is: no generating
    tiny = [f"--data.init_args.reader={json.dumps(reader)}", "--trainer.max_steps=2"]
    tiny += ["--trainer.max_epochs=1", "--data.init_args.num_workers=0"]
    run_dir = tmp_path / "demo"
    for folder in ("pretrain", "probe"):  # an earlier run's checkpoints: replaced, not versioned beside
        (run_dir / folder / "checkpoints").mkdir(parents=True)
        (run_dir / folder / "checkpoints" / "last.ckpt").write_text("an earlier run")
    summary = demo.main(["--run-dir", str(run_dir), "--", *tiny])
    pretrained = str(run_dir / "pretrain" / "checkpoints" / "last.ckpt")
    assert calls == [
        (pretrained, 0.1, str(run_dir / "probe_ssl_0.1" / "checkpoints")),
        (None, 0.1, str(run_dir / "probe_random_init_0.1" / "checkpoints")),
        (pretrained, 1.0, str(run_dir / "probe" / "checkpoints")),
        (None, 1.0, str(run_dir / "probe_random_init_1" / "checkpoints")),
    ]
    for folder in ("pretrain", "probe"):
        assert [p.name for p in (run_dir / folder / "checkpoints").iterdir()] == ["last.ckpt"]
        assert torch.load(run_dir / folder / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] >= 1
    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["0.1"] == summary["0.1"] and set(saved["1"]) == {"ssl", "random_init"}
    printed = capsys.readouterr().out
    ssl, rnd = 100 * saved["0.1"]["ssl"]["top1"], 100 * saved["0.1"]["random_init"]["top1"]
    assert f"10%     top-1 (%)           {ssl:>14.1f}{rnd:>14.1f}{ssl - rnd:>+10.1f}" in printed
    assert "100%    mean class acc (%)" in printed
