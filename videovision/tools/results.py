"""``videovision results`` (``make results``): the label-efficiency table, one per set.

Sets (``--sets``): the embedded moving digits and the held-out real-media sets (data_modules/heldout_sets.py:
OpenCV's sample footage, and its photographs filmed by a virtual camera), all through the same
experiments/demo configs, whose frame size is sized from each set's videos (``auto``). For each set
and each encoder (random init, and pretrained without labels by SimCLR, VCOP, SimCLR+VCOP and pace with
the experiments/demo configs; on request, VCOP with the small ViT per frame, ``vcop_vit``):

- linear probe: scikit-learn logistic regression on frozen 10-clip video embeddings, trained on
  1 %, 10 % and 100 % of the train labels (stratified subsets, one per seed);
- fine-tuning: experiments/demo/finetune.yaml through LightningCLI, the same fractions and seeds
  (the seed draws the subset and seeds the run), tested at video level (4 clips per video);
- retrieval R@1/5/10 (VCOP's protocol: test queries against the train gallery);

and the supervised baseline (experiments/demo/supervised.yaml): random init, all labels, trained until
top-1 on a validation split held out of the training videos stops improving (EarlyStopping), the best
epoch tested; each encoder's row gives its 10 % probe as a fraction of it.

Every seed runs the whole chain: pretraining (or the random initialisation), embeddings, probes
and fine-tunes (the seed also draws the labelled subset); the table gives mean ± std over seeds.
Every finished cell is kept in ``<run-dir>/<set>/cells/`` so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from .. import runs
from ..config import compose, experiments_dir
from ..evaluation import linear_probe, load_pair, tsne_plot, video_retrieval

PRETRAIN_CONFIGS = {
    "simclr": "pretrain_simclr.yaml",
    "vcop": "pretrain.yaml",
    "simclr_vcop": "pretrain_simclr_vcop.yaml",
    "pace": "pretrain_pace.yaml",
    "vcop_vit": "pretrain_vit.yaml",
}
ENCODERS = ("random_init", *PRETRAIN_CONFIGS)
DEFAULT_ENCODERS = tuple(e for e in ENCODERS if e != "vcop_vit")
"""What ``make results`` runs: ``vcop_vit`` (VCOP with the small ViT per frame) only when asked."""
READER = "data.init_args.reader"
SETS = {
    "digits": None,  # the configs' own reader
    "footage": {"class_path": "data_modules.OpenCVFootage", "init_args": {"root": "data/heldout_footage"}},
    "photos": {"class_path": "data_modules.OpenCVPhotos", "init_args": {"root": "data/heldout_photos"}},
}


class ResultsRun:
    """One table: ``run_dir`` holds checkpoints, embeddings, per-cell JSON and the table."""

    def __init__(self, run_dir: Path, config_dir: Path, overrides: list[str], reader: dict | None = None) -> None:
        self.run_dir, self.config_dir, self.overrides = run_dir, config_dir, overrides
        self.data = {READER: reader} if reader else {}  # every run of this table reads this set
        (run_dir / "cells").mkdir(parents=True, exist_ok=True)
        made_with = run_dir / "overrides.json"
        earlier = json.loads(made_with.read_text()) if made_with.is_file() else overrides
        if earlier != overrides:
            raise ValueError(
                f"{run_dir} holds cells made with the overrides {earlier}, not {overrides}: "
                "pass another --run-dir, or delete that folder to start over"
            )
        made_with.write_text(json.dumps(overrides))

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
            **self.data,
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

    def encoder_config(self, encoder: str) -> dict:
        """The encoder as ``encoder``'s pretraining config builds it (the ViT backbone of ``vcop_vit``), for the runs
        that load its weights; random init keeps the configs' own."""
        if encoder not in PRETRAIN_CONFIGS:
            return {}
        return {
            "model.init_args.encoder": compose(self.config_dir / PRETRAIN_CONFIGS[encoder])["model"]["init_args"][
                "encoder"
            ]
        }

    def extract(self, encoder: str, weights: str | None, seed: int) -> Path:
        """Train and test embeddings; ``seed`` initialises whatever ``weights`` do not set (all of a random encoder)."""
        folder = self.run_dir / "features" / f"{encoder}_seed{seed}"
        for split in ("train", "test"):
            overrides = {
                **self.data,
                **self.encoder_config(encoder),
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
            **self.data,
            **self.encoder_config(encoder),
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

    def supervised(self, seed: int) -> dict:
        """Random init on all labels until validation top-1 stops improving; the best epoch, tested."""
        name = f"supervised_converged_seed{seed}"
        overrides = {
            **self.data,
            "data.init_args.subset_seed": seed,  # also draws the validation hold-out
            "seed_everything": seed,
            "trainer.logger.init_args.save_dir": str(self.run_dir / "logs"),
            "trainer.logger.init_args.name": name,
            runs.CHECKPOINT_DIR: str(self.run_dir / "supervised" / f"seed{seed}"),
            **runs.QUIET,
        }
        config = self.config_dir / "supervised.yaml"
        return self.cell(name, lambda: runs.fit_and_test(config, overrides, self.overrides, test_ckpt="best"))


def _mean_std(values: list[float]) -> str:
    if not values:
        return "–"  # not run (--no-finetune)
    values = 100 * np.asarray(values)
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.1f} ± {spread:.1f}"


def make_table(results: dict, fractions: list[float], supervised: list[float]) -> str:
    """A markdown table: one row per encoder (probe and fine-tune top-1 per label fraction, retrieval, the
    probe at the fraction nearest 10 % over the supervised baseline) and the supervised row (its top-1
    under fine-tune 100 %)."""
    ref = min(fractions, key=lambda f: abs(f - 0.1))
    heads = [f"probe {f:.0%}" for f in fractions] + [f"fine-tune {f:.0%}" for f in fractions] + ["R@1", "R@5", "R@10"]
    heads.append(f"probe {ref:.0%} / supervised")
    lines = ["| encoder | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for encoder, row in results.items():
        cells = [_mean_std(row["probe"][f"{f:g}"]) for f in fractions]
        cells += [_mean_std(row["finetune"][f"{f:g}"]) for f in fractions]
        cells += [_mean_std(row["retrieval"][k]) for k in ("R@1", "R@5", "R@10")]
        ratio = f"{np.mean(row['probe'][f'{ref:g}']) / max(np.mean(supervised), 1e-9):.2f}" if supervised else "–"
        lines.append(f"| {encoder} | " + " | ".join(cells) + f" | {ratio} |")
    if supervised:
        cells = ["–"] * len(heads)
        cells[2 * len(fractions) - 1 if 1.0 in fractions else len(heads) - 1] = _mean_std(supervised)
        lines.append("| supervised, converged | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_set(name: str, run: ResultsRun, args: argparse.Namespace) -> dict:
    """Every encoder's cells and the supervised baseline on one set; prints and saves its table."""
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
                tsne_plot(test, run.run_dir / f"tsne_{encoder}.png", title=f"{name} {encoder}: test videos")
            for fraction in args.fractions:
                row["probe"][f"{fraction:g}"].append(linear_probe(train, test, fraction, seed=seed)["top1"])
                if not args.no_finetune:
                    row["finetune"][f"{fraction:g}"].append(run.finetune(encoder, weights, fraction, seed)["top1"])
            for k, value in video_retrieval(train, test).items():
                row["retrieval"][k].append(value)
            cells = [f"{f:.0%} probe {100 * row['probe'][f'{f:g}'][-1]:.1f}" for f in args.fractions]
            if not args.no_finetune:
                cells += [f"{f:.0%} fine-tune {100 * row['finetune'][f'{f:g}'][-1]:.1f}" for f in args.fractions]
            print(
                f"{name} {encoder} seed {seed}: " + ", ".join(cells) + f", R@1 {100 * row['retrieval']['R@1'][-1]:.1f}"
            )
        results[encoder] = row
    supervised = [] if args.no_supervised else [run.supervised(seed)["top1"] for seed in args.seeds]
    table = make_table(results, args.fractions, supervised)
    summary = {"fractions": args.fractions, "seeds": args.seeds, "results": results, "supervised": supervised}
    (run.run_dir / "results.json").write_text(json.dumps(summary, indent=2))
    (run.run_dir / "results.md").write_text(table + "\n")
    print(f"\n{name}: top-1 (%) on the test split, mean ± std over seeds {', '.join(map(str, args.seeds))}; R@k (%)")
    print(table)
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/results", help="one folder per set below it")
    parser.add_argument(
        "--config-dir",
        default=str(experiments_dir() / "demo"),
        help="folder with the pretrain*, extract, finetune and supervised YAMLs",
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument(
        "--source-deb", help="opencv-doc's .deb or unpacked folder for the held-out sets (default: apt-get download)"
    )
    parser.add_argument("--encoders", nargs="+", default=list(DEFAULT_ENCODERS), choices=ENCODERS)
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.1, 1.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--no-supervised", action="store_true", help="leave out the supervised baseline")
    parser.add_argument("--no-finetune", action="store_true", help="leave out the fine-tunes (probes only)")
    parser.add_argument(
        "overrides", nargs="*", help="LightningCLI arguments added to every run, e.g. --trainer.max_steps=2"
    )
    args = parser.parse_args(argv)
    start = time.time()
    summaries = {}
    for name in args.sets:
        reader = SETS[name]
        if reader is not None and args.source_deb:
            reader = {**reader, "init_args": {**reader["init_args"], "source": args.source_deb}}
        run = ResultsRun(Path(args.run_dir) / name, Path(args.config_dir), args.overrides, reader)
        summaries[name] = run_set(name, run, args)
    minutes = round((time.time() - start) / 60, 1)
    cells = [json.loads(p.read_text()).get("seconds", 0.0) for p in Path(args.run_dir).glob("*/cells/*.json")]
    compute = round(sum(cells) / 60, 1)  # every cell's own run time, whichever invocation made it
    print(f"\nsaved results.json, results.md and t-SNE plots in {args.run_dir}/<set>/")
    print(f"{minutes} min in this invocation; the cells took {compute} min when they ran")
    return {"minutes": minutes, "cell_minutes": compute, "sets": summaries}
