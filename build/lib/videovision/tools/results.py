"""``videovision results`` (``make results``): the label-efficiency table on the embedded dataset.

For each encoder (random init, and pretrained without labels by SimCLR, VCOP and SimCLR+VCOP with
the experiments/demo configs):

- linear probe: scikit-learn logistic regression on frozen 10-clip video embeddings, trained on
  1 %, 10 % and 100 % of the train labels (stratified subsets, one per seed);
- fine-tuning: experiments/demo/finetune.yaml through LightningCLI, the same fractions and seeds
  (the seed draws the subset and seeds the run), tested at video level (4 clips per video);
- retrieval R@1/5/10 (VCOP's protocol: test queries against the train gallery);

and, as the compute-matched supervised baseline, random init trained on all labels (encoder at
a from-scratch learning rate, 1e-3) for as many steps as a pretrained row took in all
(pretraining + fine-tuning: ``--supervised-steps``).

Every seed runs the whole chain: pretraining (or the random initialisation), embeddings, probes
and fine-tunes (the seed also draws the labelled subset); the table gives mean ± std over seeds.
Every finished cell is kept in ``<run-dir>/cells/`` so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .. import runs
from ..config import experiments_dir
from ..evaluation import linear_probe, load_pair, tsne_plot, video_retrieval

PRETRAIN_CONFIGS = {
    "simclr": "pretrain_simclr.yaml",
    "vcop": "pretrain.yaml",
    "simclr_vcop": "pretrain_simclr_vcop.yaml",
}
ENCODERS = ("random_init", *PRETRAIN_CONFIGS)


class ResultsRun:
    """One table: ``run_dir`` holds checkpoints, embeddings, per-cell JSON and the table."""

    def __init__(self, run_dir: Path, config_dir: Path, overrides: list[str]) -> None:
        self.run_dir, self.config_dir, self.overrides = run_dir, config_dir, overrides
        (run_dir / "cells").mkdir(parents=True, exist_ok=True)

    def cell(self, name: str, compute) -> dict:
        """The cached result of ``name``, or ``compute()`` saved under that name."""
        path = self.run_dir / "cells" / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text())
        start = time.time()
        result = compute()
        result["seconds"] = round(time.time() - start, 1)
        path.write_text(json.dumps(result, indent=2))
        return result

    def pretrain(self, method: str, seed: int) -> str:
        ckpt_dir = self.run_dir / "pretrain" / f"{method}_seed{seed}"
        checkpoint = ckpt_dir / "last.ckpt"
        overrides = {
            "trainer.logger.init_args.save_dir": str(self.run_dir / "logs"),
            "trainer.logger.init_args.name": f"pretrain_{method}_seed{seed}",
            runs.CHECKPOINT_DIR: str(ckpt_dir),
            "seed_everything": seed,
            **runs.QUIET,
        }

        def run() -> dict:
            runs.fit(self.config_dir / PRETRAIN_CONFIGS[method], overrides, self.overrides)
            return {"checkpoint": str(checkpoint)}

        name = f"pretrain_{method}_seed{seed}"
        if not checkpoint.is_file():
            (self.run_dir / "cells" / f"{name}.json").unlink(missing_ok=True)
        return self.cell(name, run)["checkpoint"]

    def extract(self, encoder: str, weights: str | None, seed: int) -> Path:
        """Train and test embeddings; ``seed`` initialises whatever ``weights`` do not set (all of a random encoder)."""
        folder = self.run_dir / "features" / f"{encoder}_seed{seed}"
        for split in ("train", "test"):
            overrides = {
                "model.init_args.pretrained": weights,
                "data.init_args.predict_split": split,
                "trainer.callbacks.EmbeddingWriter.init_args.out_dir": str(folder / split),
                "trainer.default_root_dir": str(folder / split),
                "seed_everything": seed,
                **runs.QUIET,
            }

            def run(overrides: dict = overrides, split: str = split) -> dict:
                runs.predict(self.config_dir / "extract.yaml", overrides, self.overrides)
                return {"folder": str(folder / split)}

            self.cell(f"extract_{encoder}_seed{seed}_{split}", run)
        return folder

    def finetune(
        self, encoder: str, weights: str | None, fraction: float, seed: int, tag: str = "", extra: dict | None = None
    ) -> dict:
        name = f"finetune_{encoder}_{fraction:g}_seed{seed}{tag}"
        overrides = {
            "model.init_args.pretrained": weights,
            "data.init_args.label_fraction": fraction,
            "data.init_args.subset_seed": seed,
            "seed_everything": seed,
            "trainer.logger.init_args.save_dir": str(self.run_dir / "logs"),
            "trainer.logger.init_args.name": name,
            **(extra or {}),
            **runs.QUIET,
        }
        return self.cell(name, lambda: runs.fit_and_test(self.config_dir / "finetune.yaml", overrides, self.overrides))


def _mean_std(values: list[float]) -> str:
    values = 100 * np.asarray(values)
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.1f} ± {spread:.1f}"


def make_table(results: dict, fractions: list[float]) -> str:
    """A markdown table: one row per encoder; probe and fine-tune top-1 per label fraction, retrieval."""
    heads = [f"probe {f:.0%}" for f in fractions] + [f"fine-tune {f:.0%}" for f in fractions] + ["R@1", "R@5", "R@10"]
    lines = ["| encoder | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for encoder, row in results.items():
        cells = [_mean_std(row["probe"][f"{f:g}"]) for f in fractions]
        cells += [_mean_std(row["finetune"][f"{f:g}"]) for f in fractions]
        cells += [_mean_std(row["retrieval"][k]) for k in ("R@1", "R@5", "R@10")]
        lines.append(f"| {encoder} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/results")
    parser.add_argument(
        "--config-dir",
        default=str(experiments_dir() / "demo"),
        help="folder with the pretrain*, extract and finetune YAMLs",
    )
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=ENCODERS)
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.1, 1.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--supervised-steps",
        type=int,
        default=690,
        help="steps of the supervised baseline (default: 540 pretraining + 150 fine-tuning)",
    )
    parser.add_argument(
        "overrides", nargs="*", help="LightningCLI arguments added to every run, e.g. --trainer.max_steps=2"
    )
    args = parser.parse_args(argv)
    start = time.time()
    run = ResultsRun(Path(args.run_dir), Path(args.config_dir), args.overrides)

    results: dict[str, dict] = {}
    for encoder in args.encoders:
        row: dict = {
            "probe": {f"{f:g}": [] for f in args.fractions},
            "finetune": {f"{f:g}": [] for f in args.fractions},
        }
        row["retrieval"] = {k: [] for k in ("R@1", "R@5", "R@10", "R@20", "R@50")}
        for seed in args.seeds:
            weights = None if encoder == "random_init" else run.pretrain(encoder, seed)
            folder = run.extract(encoder, weights, seed)
            train, test = load_pair(folder / "train", folder / "test")
            if seed == args.seeds[0]:
                tsne_plot(test, run.run_dir / f"tsne_{encoder}.png", title=f"{encoder}: test videos")
            for fraction in args.fractions:
                row["probe"][f"{fraction:g}"].append(linear_probe(train, test, fraction, seed=seed)["top1"])
                row["finetune"][f"{fraction:g}"].append(run.finetune(encoder, weights, fraction, seed)["top1"])
            for k, value in video_retrieval(train, test).items():
                row["retrieval"][k].append(value)
            cells = [f"{f:.0%} probe {100 * row['probe'][f'{f:g}'][-1]:.1f}" for f in args.fractions]
            cells += [f"{f:.0%} fine-tune {100 * row['finetune'][f'{f:g}'][-1]:.1f}" for f in args.fractions]
            print(f"{encoder} seed {seed}: " + ", ".join(cells) + f", R@1 {100 * row['retrieval']['R@1'][-1]:.1f}")
        results[encoder] = row

    from_scratch = {
        "trainer.max_steps": args.supervised_steps,
        "model.init_args.encoder_lr_scale": 0.02,
    }  # encoder at 1e-3
    supervised = [
        run.finetune("random_init", None, 1.0, seed, f"_supervised{args.supervised_steps}", from_scratch)["top1"]
        for seed in args.seeds
    ]
    minutes = round((time.time() - start) / 60, 1)
    cells = [json.loads(p.read_text()).get("seconds", 0.0) for p in (run.run_dir / "cells").glob("*.json")]
    compute = round(sum(cells) / 60, 1)  # every cell's own run time, whichever invocation made it
    table = make_table(results, args.fractions)
    summary = {
        "minutes": minutes,
        "cell_minutes": compute,
        "fractions": args.fractions,
        "seeds": args.seeds,
        "results": results,
        "supervised": {"steps": args.supervised_steps, "top1": supervised},
    }
    table += (
        f"\n\nSupervised from random init (encoder lr 1e-3), 100 % labels, {args.supervised_steps} steps: "
        f"{_mean_std(supervised)}"
    )
    (run.run_dir / "results.json").write_text(json.dumps(summary, indent=2))
    (run.run_dir / "results.md").write_text(table + "\n")
    print(
        "\nTop-1 (%) on the test split, mean ± std over seeds "
        + ", ".join(map(str, args.seeds))
        + "; retrieval R@k (%)"
    )
    print(table)
    print(f"saved {run.run_dir / 'results.json'}, {run.run_dir / 'results.md'} and t-SNE plots")
    print(f"{minutes} min in this invocation; the cells took {compute} min when they ran")
    return summary
