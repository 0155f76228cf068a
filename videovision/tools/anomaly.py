"""``videovision anomaly fit|score|bench``: frame-level video anomaly detection with a (self-supervised) encoder.

- ``fit --config experiments/anomaly/<dataset>.yaml``: encode the normal training videos, fit the scorer,
  save it to ``<out_dir>/scorer.pt`` and what it was fitted with (encoder, checkpoint, scorer, frame size,
  residual gap) to
  ``<out_dir>/scorer.yaml`` (``serve --anomaly`` and ``stream --anomaly`` load the pair);
- ``score --config ...``: score every test frame with the saved scorer; write ``scores/<video>.npy|.csv`` (scores
  standardised on the normal training frames, as ``serve`` gives them, then smoothed), ``metrics.json`` (micro and
  macro frame-level AUROC), ``timelines/<video>.png`` and ``summary.png``;
- ``bench``: the embedded benchmark: generate anomalous moving digits, pretrain VCOP and SimCLR on its normal
  training videos (the demo configs, through :mod:`videovision.runs`), then every scorer x encoder (random init,
  SimCLR, VCOP) -> micro and macro AUROC and run time, printed as a table and saved to ``<run_dir>/results.json``,
  with 95 % bootstrap intervals over test videos of ``combined``'s micro AUROC and of its gain over random init;
  ``--checkpoint NAME=PATH`` (repeated) benches encoders pretrained elsewhere (e.g. the demo's, on the moving-digits
  set) in place of the two pretrainings.

A config names ``reader`` (an :class:`AnomalyReader`), ``encoder``, ``checkpoint`` (null = random init),
``scorer`` (a ``class_path``), ``frame_size`` (px, or ``auto``: sized from the training videos as the demo
recipe sizes its crops), ``residual_gap`` (with an encoder that reads residual frames:
frames between the two of each difference, its pretraining's clip stride; :mod:`videovision.anomaly.features`),
``sigma`` (Gaussian smoothing of frame scores, in frames),
``normalise_per_video`` (per-video min-max: uses test statistics, off by default) and ``out_dir``;
``--checkpoint``, ``--out-dir`` and ``--set key.path=value`` override it (a value naming a ``.yaml`` file, as
``--set scorer=anomaly/scorers/combined_ssl.yaml``, is that file's content, as in a config file).
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml
from jsonargparse import ArgumentParser

from data_modules.anomaly_digits import generated_with, kind_of
from data_modules.anomaly_readers import AnomalyReader
from data_modules.recipe import auto_frame_size

from .. import runs
from ..anomaly.features import RANDOM_INIT_SEED, RESIDUAL_GAP
from ..anomaly.intervals import BOOTSTRAP_ROUNDS, micro_auroc_resamples, percentile_interval
from ..anomaly.metrics import gaussian_smooth, micro_auroc_by_group
from ..anomaly.pipeline import EncodedSplit, encode_split, score_split, write_results
from ..anomaly.scorers import AnomalyScorer, CombinedScorer
from ..anomaly.scorers.base import residual_views_of
from ..checkpoints import (
    checkpoint_frame_input,
    load_checkpoint_file,
    load_encoder_weights,
    load_state_dict_file,
    run_config_entry,
)
from ..config import ConfigError, compose, is_file_reference, override
from ..models.encoder import ClipEncoder

SCORER_FILE = "scorer.pt"
GENERATED_WITH_FILE = "generated_with.json"
"""Beside a bench pretraining's checkpoint: the spec and generator version of the data it was trained on."""
BENCH_SCORERS = ("knn", "next_step", "order", "frame_knn", "speed", "pace")
"""The one-class scorers of the bench, fitted on normal training video only; ``combined`` sums them."""
WEAK_SCORERS = ("mil",)
"""Scorers that also learn from the weakly labelled anomalous training videos (video-level labels)."""
SCORERS = (*BENCH_SCORERS, *WEAK_SCORERS)
COMBINATIONS = {"combined": BENCH_SCORERS, "combined_ssl": ("knn", "next_step", "pace")}
"""The bench's sums of fitted one-class scorers, as ``experiments/anomaly/scorers/<name>.yaml`` configures them."""
DEFAULT_PRETRAIN_EPOCHS = 50
PRETRAINING = {"simclr": "demo/pretrain_simclr.yaml", "vcop": "demo/pretrain.yaml"}


def _config_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="videovision anomaly", exit_on_error=False)
    parser.add_argument("--reader", type=AnomalyReader, required=True)
    parser.add_argument("--encoder", type=ClipEncoder, required=True)
    parser.add_argument("--checkpoint", type=str | None, default=None)
    parser.add_argument("--scorer", type=AnomalyScorer | None, default=None)
    parser.add_argument("--frame_size", type=int | Literal["auto"], default=32)
    parser.add_argument("--residual_gap", type=int, default=RESIDUAL_GAP)
    parser.add_argument("--sigma", type=float, default=3.0)
    parser.add_argument("--normalise_per_video", type=bool, default=False)
    parser.add_argument("--out_dir", type=str, default="runs/anomaly/out")
    return parser


def build(config: str | Path | dict, overrides: dict[str, Any] | None = None, seed: bool = True) -> dict[str, Any]:
    """The instantiated config: reader, encoder (with the checkpoint's weights; random, seeded with
    :data:`RANDOM_INIT_SEED`, without one), scorer and settings. ``seed=False`` leaves torch's generator where it
    is, for a build whose encoder is not used."""
    composed = override(compose(config) if not isinstance(config, dict) else config, overrides or {})
    parser = _config_parser()
    parsed = parser.parse_object(copy.deepcopy(composed))  # parsing turns nested mappings into Namespaces
    if seed:
        torch.manual_seed(RANDOM_INIT_SEED)
    built = parser.instantiate_classes(parsed)
    if built.checkpoint:
        load_encoder_weights(built.encoder, built.checkpoint)
    built.encoder.eval()
    return {**dict(built), "config": composed}


def _cache(settings: dict[str, Any]) -> Path:
    return Path(settings["out_dir"]) / "metadata.json"


def resolve_frame_size(settings: dict[str, Any], cache_file: Path) -> int:
    """``frame_size``, or for ``auto`` the demo recipe's rule (:mod:`data_modules.recipe`: a quarter of the normal
    training videos' median short side within 32-112 px), what ``crop_size: auto`` gave the encoder's pretraining
    on them (the weakly labelled ``train_anomalous/`` videos are not pretrained on, so they do not count)."""
    if settings["frame_size"] != "auto":
        return settings["frame_size"]
    size, sized_from = auto_frame_size([r.path for r in settings["reader"].records("train")], cache_file)
    print(sized_from)
    return size


def fit(settings: dict[str, Any]) -> EncodedSplit:
    """Encode the training videos, fit the scorer, save it; returns the encoded training split."""
    reader, encoder, scorer = settings["reader"], settings["encoder"], settings["scorer"]
    if scorer is None:
        raise ValueError("the config names no scorer: set scorer.class_path (e.g. anomaly/scorers/knn.yaml)")
    reader.prepare()
    size = resolve_frame_size(settings, _cache(settings))
    views = scorer.residual_views(encoder)
    train = encode_split(encoder, reader, "train", _cache(settings), size, settings["residual_gap"], views=views)
    scorer.fit_videos(
        encoder, train.features, [r.anomalous for r in train.records], settings["checkpoint"], train.views
    )
    out = Path(settings["out_dir"]) / SCORER_FILE
    torch.save(scorer.state_dict(), out)
    config = settings["config"]
    fitted_with = {"encoder": config["encoder"], "checkpoint": settings["checkpoint"], "scorer": config["scorer"]}
    fitted_with |= {"frame_size": size, "residual_gap": settings["residual_gap"]}
    out.with_suffix(".yaml").write_text(yaml.safe_dump(fitted_with, sort_keys=False))  # what serve --anomaly loads
    print(f"fitted {type(scorer).__name__} on {len(train.features)} training videos ({len(train.skipped)} skipped)")
    print(f"saved {out}")
    return train


def _fitted_with(settings: dict[str, Any], fitted: Path) -> dict[str, Any]:
    """What ``fit`` saved beside ``scorer.pt`` (``scorer.yaml``: encoder, checkpoint, scorer, frame size, residual
    gap); refuses to score with another encoder or checkpoint than the scorer was fitted on (its features would mean
    something else), or with another scorer config (its saved state is another scorer's)."""
    saved = fitted.with_suffix(".yaml")
    if not saved.is_file():
        raise FileNotFoundError(f"{saved}: not found; run `videovision anomaly fit` with this config first")
    fitted_with = yaml.safe_load(saved.read_text())
    for key in ("checkpoint", "encoder", "scorer"):
        if fitted_with.get(key) != settings["config"].get(key):
            raise ValueError(
                f"{fitted} was fitted with {key} {fitted_with.get(key)!r}, and this config scores with "
                f"{settings['config'].get(key)!r}: pass the same --checkpoint, encoder and scorer (config or "
                "--set) as to `anomaly fit`"
            )
    return fitted_with


def score(settings: dict[str, Any], plots: bool = True) -> dict[str, Any]:
    """Score every test frame with the scorer saved by :func:`fit`; write scores, metrics and plots."""
    encoder, scorer, out_dir = settings["encoder"], settings["scorer"], Path(settings["out_dir"])
    fitted_with = _fitted_with(settings, out_dir / SCORER_FILE)
    scorer.load_fitted(encoder, load_state_dict_file(out_dir / SCORER_FILE))
    size, gap = fitted_with["frame_size"], fitted_with.get("residual_gap", RESIDUAL_GAP)  # the frames fit saw
    test = encode_split(encoder, settings["reader"], "test", _cache(settings), size, gap)
    metrics = write_results(
        out_dir,
        test,
        score_split(scorer, encoder, test),
        settings["sigma"],
        settings["normalise_per_video"],
        plots,
        {"scorer": type(scorer).__name__, "checkpoint": settings["checkpoint"]},
    )
    print(f"micro AUROC {metrics['micro_auroc']:.4f}, macro AUROC {metrics['macro_auroc']:.4f} -> {out_dir}")
    return metrics


def full_reader_config(reader: dict) -> dict:
    """``reader`` (``class_path`` + ``init_args``) with every init argument it leaves to its default filled in, as a
    run's saved config holds it."""
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--reader", type=AnomalyReader)
    return parser.parse_object({"reader": reader}).reader.as_dict()


def _pretrain(name: str, reader: dict, run_dir: Path, epochs: int, frame_input: str, generated: dict | None) -> str:
    """The checkpoint of ``name``'s demo pretraining on ``reader``'s normal training videos: reused when a finished
    one on the same data (the same reader config and, for generated data, the same ``generated`` spec and generator
    version, kept beside the checkpoint) and the same kind of frames is there, else trained."""
    checkpoint = run_dir / f"pretrain_{name}" / "checkpoints" / "last.ckpt"
    generated_file = checkpoint.parent / GENERATED_WITH_FILE
    if checkpoint.exists():
        loaded = load_checkpoint_file(checkpoint)
        trained_on = checkpoint_frame_input(loaded)
        if trained_on != frame_input:
            raise ValueError(
                f"{checkpoint} was pretrained on {trained_on} frames and the bench's encoder reads {frame_input} "
                f"frames (encoder.init_args.frame_input): delete it to pretrain {name} again"
            )
        saved, reads = run_config_entry(loaded, "data.init_args.reader"), full_reader_config(reader)
        if saved is None or full_reader_config(saved) != reads:
            raise ValueError(
                f"{checkpoint} was pretrained on other data (data.init_args.reader: {saved}) than the bench reads "
                f"({reads}): delete it to pretrain {name} again"
            )
        done = loaded["epoch"]  # a Lightning checkpoint with a run config: saved by a VideoVision run
        if done < epochs:  # an interrupted run saves last.ckpt too: never take it for a finished one
            raise ValueError(
                f"{checkpoint} holds {done} of the {epochs} pretraining epochs asked for (an interrupted run): "
                f"delete it to pretrain {name} again, or pass --pretrain-epochs {done}"
            )
        recorded = json.loads(generated_file.read_text()) if generated_file.exists() else None
        if recorded != generated:
            was = (
                f"generated with {recorded}" if generated_file.exists() else f"not recorded ({generated_file} missing)"
            )
            raise ValueError(
                f"{checkpoint}: the data it was pretrained on was {was}, and the bench's data is generated with "
                f"{generated}: delete it to pretrain {name} again"
            )
        print(f"reusing {checkpoint} ({done} epochs)")
        return str(checkpoint)
    overrides = {
        "data.init_args.reader": reader,
        runs.CHECKPOINT_DIR: str(checkpoint.parent),
        "trainer.logger.init_args.save_dir": str(run_dir),
        "trainer.max_epochs": epochs,
        **runs.QUIET,
    }
    runs.fit(PRETRAINING[name], overrides)
    generated_file.write_text(json.dumps(generated))
    return str(checkpoint)


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (data-loader workers)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


@contextmanager
def _stage(stages: dict[str, dict[str, float]], name: str) -> Iterator[None]:
    """Record the wall and CPU seconds of a stage: on a shared machine wall time grows with the load, CPU time
    much less, so both are kept."""
    wall, cpu = time.time(), _cpu_seconds()
    yield
    stages[name] = {"wall_s": round(time.time() - wall, 1), "cpu_s": round(_cpu_seconds() - cpu, 1)}
    print(f"{name}: {stages[name]['wall_s']:.0f} s wall, {stages[name]['cpu_s']:.0f} s CPU", flush=True)


def bench(
    config: str, run_dir: Path, pretrain_epochs: int | None = None, pretrained: dict[str, str] | None = None
) -> dict[str, Any]:
    """Every scorer x encoder on the embedded benchmark; prints and saves the table, the AUROC per injected kind, the
    bootstrap intervals of ``combined`` and the wall and CPU time of every stage. The encoders are random init and
    the two pretrainings on the benchmark's normal training videos (``pretrain_epochs`` each, default 50), or
    random init and the ``pretrained`` checkpoints {column name: path}, each loaded into the config's encoder before
    any work starts (a missing file, or one of another architecture or frame input, raises)."""
    start, stages = time.time(), {}
    base, pretrained = compose(config), pretrained or {}
    if pretrained and pretrain_epochs is not None:
        raise ValueError("--pretrain-epochs has no effect with --checkpoint (the bench pretrains nothing): drop one")
    if "random_init" in pretrained:
        raise ValueError("--checkpoint random_init=...: random_init is the bench's own column; name yours otherwise")
    for path in pretrained.values():
        build(base, {"checkpoint": path})
    epochs = DEFAULT_PRETRAIN_EPOCHS if pretrain_epochs is None else pretrain_epochs
    with _stage(stages, "generate data"):
        built = build(base)
        built["reader"].prepare()
    checkpoints: dict[str, str | None] = {"random_init": None, **pretrained}
    if not pretrained:
        frame_input, generated = built["encoder"].frame_input, generated_with(built["reader"].root)
        for name in PRETRAINING:
            with _stage(stages, f"pretrain {name}"):
                checkpoints[name] = _pretrain(name, base["reader"], run_dir, epochs, frame_input, generated)
    results: dict[str, dict[str, Any]] = {}
    combined: dict[str, list[np.ndarray]] = {}  # smoothed frame scores of `combined` per encoder
    for encoder_name, checkpoint in checkpoints.items():
        with _stage(stages, f"{encoder_name}: encode every frame"):
            settings = build(base, {"checkpoint": checkpoint})
            encoder, reader, cache = settings["encoder"], settings["reader"], run_dir / "metadata.json"
            size, gap = resolve_frame_size(settings, cache), settings["residual_gap"]
            scorers = bench_scorers(base)
            views = residual_views_of(scorers.values(), encoder)
            train = encode_split(encoder, reader, "train", cache, size, gap, views=views)
            test = encode_split(encoder, reader, "test", cache, size, gap)
        count = len(BENCH_SCORERS) + len(COMBINATIONS) + len(WEAK_SCORERS)
        with _stage(stages, f"{encoder_name}: fit and score {count} scorers"):
            combined[encoder_name] = _score_encoder(
                settings, checkpoint, scorers, train, test, run_dir / encoder_name, results, encoder_name
            )
    with _stage(stages, f"bootstrap intervals ({BOOTSTRAP_ROUNDS} rounds)"):
        intervals = combined_intervals(combined, test.labels)
    summary = {
        "minutes": round((time.time() - start) / 60, 2),
        "cpu_minutes": round(sum(s["cpu_s"] for s in stages.values()) / 60, 2),
        "pretrain_epochs": None if pretrained else epochs,
        "checkpoints": checkpoints,
        "stages": stages,
        "results": results,
        "combined_intervals": intervals,
    }
    (run_dir / "results.json").write_text(json.dumps(summary, indent=2))
    encoders_from = "encoders from --checkpoint" if pretrained else f"{len(PRETRAINING)} pretrainings"
    print_table(results, summary["minutes"], summary["cpu_minutes"], encoders_from)
    print_intervals(intervals)
    return summary


def bench_scorers(base: dict) -> dict[str, AnomalyScorer]:
    """The bench's scorers by name, unfitted (``experiments/anomaly/scorers/<name>.yaml``); the sums of
    :data:`COMBINATIONS` are made from the fitted one-class ones. Built without seeding: their heads initialise from
    the generator as the encoder's build left it (the bench's numbers since it was seeded)."""
    scorers = {name: compose(f"anomaly/scorers/{name}.yaml") for name in SCORERS}
    return {name: build(base, {"scorer": scorer}, seed=False)["scorer"] for name, scorer in scorers.items()}


def _score_encoder(
    settings: dict[str, Any],
    checkpoint: str | None,
    scorers: dict[str, AnomalyScorer],
    train: EncodedSplit,
    test: EncodedSplit,
    out_root: Path,
    results: dict[str, dict[str, Any]],
    encoder_name: str,
) -> list[np.ndarray]:
    """Fit ``scorers`` (:func:`bench_scorers`) on one encoder's training features and sum the fitted one-class ones
    as :data:`COMBINATIONS` says, score the test features and add micro / macro AUROC and the AUROC per injected
    kind to ``results``; returns the smoothed frame scores of ``combined``, one (N_v,) array per test video."""
    encoder, sigma = settings["encoder"], settings["sigma"]
    kinds = [kind_of(name) for name in test.names]
    anomalous = [r.anomalous for r in train.records]
    fitted: dict[str, AnomalyScorer] = {}
    combined: list[np.ndarray] = []
    for scorer_name in (*BENCH_SCORERS, *COMBINATIONS, *WEAK_SCORERS):
        begin = time.time()
        out_dir = out_root / scorer_name
        out_dir.mkdir(parents=True, exist_ok=True)
        if scorer_name in COMBINATIONS:  # the scorers just fitted, not fitted again
            scorer = CombinedScorer([fitted[s] for s in COMBINATIONS[scorer_name]])
        else:
            scorer = scorers[scorer_name]
            scorer.fit_videos(encoder, train.features, anomalous, checkpoint, train.views)
            fitted[scorer_name] = scorer
        torch.save(scorer.state_dict(), out_dir / SCORER_FILE)
        scores = score_split(scorer, encoder, test)
        extra = {"scorer": scorer_name, "checkpoint": checkpoint}
        metrics = write_results(out_dir, test, scores, sigma, False, scorer_name == "combined", extra)
        smoothed = [gaussian_smooth(s, sigma) for s in scores]
        results.setdefault(scorer_name, {})[encoder_name] = {
            "micro_auroc": metrics["micro_auroc"],
            "macro_auroc": metrics["macro_auroc"],
            "micro_auroc_by_kind": micro_auroc_by_group(smoothed, test.labels, kinds),
            "seconds": round(time.time() - begin, 1),
        }
        print(f"{encoder_name} {scorer_name}: micro {metrics['micro_auroc']:.3f} macro {metrics['macro_auroc']:.3f}")
        if scorer_name == "combined":
            combined = smoothed
    return combined


def combined_intervals(combined: dict[str, list[np.ndarray]], labels: list[np.ndarray]) -> dict[str, Any]:
    """95 % bootstrap intervals over test videos of ``combined``'s micro AUROC per encoder and of each encoder's
    difference from random init, on the same resamples (:mod:`videovision.anomaly.intervals`)."""
    resampled = micro_auroc_resamples(combined, labels)
    baseline = resampled["random_init"]
    return {
        "rounds": BOOTSTRAP_ROUNDS,
        "micro_auroc": {e: percentile_interval(r) for e, r in resampled.items()},
        "minus_random_init": {e: percentile_interval(r - baseline) for e, r in resampled.items() if e != "random_init"},
    }


def print_intervals(intervals: dict[str, Any]) -> None:
    """The intervals of :func:`combined_intervals`, one line each."""
    print(f"\ncombined, micro AUROC: 95 % interval over {intervals['rounds']} bootstrap resamples of the test videos")
    for encoder, (low, high) in intervals["micro_auroc"].items():
        print(f"  {encoder:<11} [{low:.3f}, {high:.3f}]")
    for encoder, (low, high) in intervals["minus_random_init"].items():
        print(f"  {encoder} - random_init [{low:+.3f}, {high:+.3f}]")


def print_table(
    results: dict[str, dict[str, dict[str, Any]]], minutes: float, cpu_minutes: float, encoders_from: str
) -> None:
    """The README tables: one row per scorer, micro / macro AUROC per encoder; then micro AUROC per injected kind
    (that kind's test videos pooled with the all-normal ones) per scorer and encoder; then the run time, saying
    where the encoders came from (``encoders_from``: "2 pretrainings")."""
    encoders = list(next(iter(results.values())))
    sums = "; ".join(f"{name} = {' + '.join(members)}" for name, members in COMBINATIONS.items())
    print("\nFrame-level AUROC on anomalous moving digits, micro / macro (sigma 3), of the one-class scorers (normal")
    print(f"training video only), sums of their standardised scores ({sums}), and of {', '.join(WEAK_SCORERS)},")
    print("which also learns from video-level labels")
    print(f"| {'scorer':<12} | " + " | ".join(f"{e:>15}" for e in encoders) + " |")
    print("|" + "---|" * (len(encoders) + 1))
    for scorer, row in results.items():
        cells = [f"{row[e]['micro_auroc']:.3f} / {row[e]['macro_auroc']:.3f}" for e in encoders]
        print(f"| {scorer:<12} | " + " | ".join(f"{c:>15}" for c in cells) + " |")
    kinds = list(next(iter(next(iter(results.values())).values()))["micro_auroc_by_kind"])
    print("\nMicro AUROC per injected kind (its videos pooled with the all-normal ones)")
    print(f"| {'scorer':<12} | {'encoder':<11} | " + " | ".join(f"{k:>13}" for k in kinds) + " |")
    print("|" + "---|" * (len(kinds) + 2))
    for scorer, row in results.items():
        for encoder in encoders:
            cells = [f"{row[encoder]['micro_auroc_by_kind'][k]:>13.3f}" for k in kinds]
            print(f"| {scorer:<12} | {encoder:<11} | " + " | ".join(cells) + " |")
    cells = len(results) * len(encoders)
    print(
        f"total run time {minutes:.1f} min wall, {cpu_minutes:.1f} min CPU "
        f"(data generation, {encoders_from}, {cells} cells)"
    )


def named_checkpoints(items: list[str]) -> dict[str, str]:
    """``--checkpoint NAME=PATH`` values as {NAME: PATH}, in order; a value without both, or a name given twice,
    raises."""
    named: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not (sep and name and path):
            raise ValueError(f"--checkpoint {item!r}: expected NAME=PATH, e.g. simclr=runs/demo/pretrain_simclr/...")
        if name in named:
            raise ValueError(f"--checkpoint {item!r}: the column name {name!r} is given twice")
        named[name] = path
    return named


def main(argv: list[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(prog="videovision anomaly", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("fit", "score"):
        command = sub.add_parser(name, help=f"{name} a scorer (see experiments/anomaly/)")
        command.add_argument("--config", required=True, help="experiments/anomaly/<dataset>.yaml")
        command.add_argument("--checkpoint", help="encoder checkpoint (overrides the config's)")
        command.add_argument("--out-dir", help="output folder (overrides the config's out_dir)")
        command.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="dotted config override, value in YAML; a value naming a .yaml file (scorer=anomaly/scorers/knn.yaml) "
            "is that file's content, as in a config file",
        )
    command = sub.add_parser("bench", help="the embedded benchmark table (make anomaly)")
    command.add_argument("--config", default="anomaly/base/digits.yaml", help="data and encoder (default: %(default)s)")
    command.add_argument("--run-dir", default="runs/anomaly", help="where checkpoints and results go")
    command.add_argument(
        "--pretrain-epochs",
        type=int,
        help=f"epochs of each pretraining (VCOP: 4 steps, SimCLR: 2 steps each; default: {DEFAULT_PRETRAIN_EPOCHS})",
    )
    command.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="bench this pretrained encoder as column NAME instead of pretraining (repeat for more)",
    )
    args = parser.parse_args(argv)
    if args.command == "bench":
        return bench(args.config, Path(args.run_dir), args.pretrain_epochs, named_checkpoints(args.checkpoint))
    overrides = {k: v for k, v in (("checkpoint", args.checkpoint), ("out_dir", args.out_dir)) if v is not None}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. reader.init_args.root=/data/avenue")
        parsed = yaml.safe_load(value)
        try:
            overrides[key] = compose(parsed) if is_file_reference(parsed) else parsed
        except ConfigError as exc:
            raise ConfigError(f"--set {key}: {exc}") from None
    settings = build(args.config, overrides)
    Path(settings["out_dir"]).mkdir(parents=True, exist_ok=True)
    return fit(settings) if args.command == "fit" else score(settings)
