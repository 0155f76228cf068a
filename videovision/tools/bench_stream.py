"""``videovision bench-stream``: what streaming costs, in one run, printed side by side.

1. Per frame: the streaming step (state carried) against re-running a 16-frame window, each in eager
   PyTorch and in ONNX Runtime (at ``--size`` pixels, one frame at a time).
2. End to end: frames/s from a 320x240 video decoded in a thread at ``--size`` px through the step.
3. The server (``videovision serve`` in its own process): ``--clients`` local clients each upload
   ``--jobs`` videos one after another and wait for each result; throughput, p50/p99 job latency, and
   how many were lost (every accepted job must finish).

Timings are medians over ``--repeats`` calls after a warm-up; torch and ONNX Runtime use ``--threads`` (1: on
2 cores, decoding takes the other).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from data_modules.moving_digits import write_video

from ..serving.api import Settings, create_app
from ..serving.export import CLIP_ONNX, export_classifier
from ..serving.model import DEMO_PROBE, load_classifier, save_untrained_classifier
from ..serving.runtime import EagerStep, OrtStep
from ..serving.stream import FrameReader, run_stream


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision bench-stream", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", help="classifier checkpoint (default: the demo probe, else untrained weights)")
    parser.add_argument("--out", default="runs/bench-stream", help="exports, videos and results.json")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="inference threads (decoding runs in another)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--frames", type=int, default=250, help="length of the end-to-end video")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=3, help="uploads per client")
    parser.add_argument("--load-frames", type=int, default=96, help="length of each uploaded video")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of every part but the ONNX export (the test's; test_export checks it): 32 px, 4-frame "
        "window, eager only, few repeats and jobs",
    )
    args = parser.parse_args(argv)
    runtimes = ("eager", "onnx")
    if args.quick:
        args.size, args.window, args.repeats, args.frames, args.clients, args.jobs, args.load_frames = (
            32, 4, 3, 24, 2, 1, 12)  # fmt: skip
        runtimes = ("eager",)
    out = Path(args.out)
    torch.set_num_threads(args.threads)
    ckpt = args.ckpt or (str(DEMO_PROBE) if DEMO_PROBE.is_file() else None)
    if ckpt is None:
        ckpt = str(save_untrained_classifier(out / "untrained.ckpt", [f"class_{i}" for i in range(8)]))
        print(f"no demo probe checkpoint: timing untrained weights ({ckpt})")
    served = load_classifier(ckpt)
    export_dir = out / f"export_{args.size}"
    frame = np.random.default_rng(0).standard_normal((1, 3, args.size, args.size), dtype=np.float32)
    window = np.random.default_rng(1).standard_normal((1, args.window, 3, args.size, args.size), dtype=np.float32)
    clip_model = served.clip_model()
    steps = {"eager": EagerStep(served.step_model())}
    with torch.inference_mode():
        per_frame = {
            ("step", "eager"): _median_ms(steps["eager"], frame, args.repeats),
            ("window", "eager"): _median_ms(lambda w: clip_model(torch.from_numpy(w)), window, args.repeats),
        }
    if "onnx" in runtimes:
        export_classifier(served, export_dir, args.size, args.window, parts=("step.onnx", CLIP_ONNX))
        clip_session, steps["onnx"] = _session(export_dir / CLIP_ONNX, args.threads), OrtStep(export_dir, args.threads)
        per_frame[("step", "onnx")] = _median_ms(steps["onnx"], frame, args.repeats)
        per_frame[("window", "onnx")] = _median_ms(lambda w: clip_session.run(None, {"clips": w}), window, args.repeats)
    video = out / "bench_320x240.avi"
    if not video.is_file():
        write_video(video, _moving_square(args.frames, 240, 320), fps=25)
    preprocess = served.preprocess.at(args.size)
    fps = {}
    for runtime, step in steps.items():
        step.reset()
        process = lambda index, frame, step=step: {"probs": step(preprocess(frame[None]).numpy())}  # noqa: E731
        fps[runtime] = run_stream(FrameReader(str(video), args.size), process).summary()
    load = _load_test(ckpt, out, args.clients, args.jobs, args.load_frames, in_process=args.quick)
    results = {
        "size": args.size,
        "window": args.window,
        "threads": args.threads,
        "per_frame_ms": {f"{a}_{b}": v for (a, b), v in per_frame.items()},
        "end_to_end": fps,
        "server": load,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    _print(results, per_frame)
    return results


def _median_ms(call, x, repeats: int) -> float:
    for _ in range(3):
        call(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _moving_square(num_frames: int, height: int, width: int) -> np.ndarray:
    frames = np.random.default_rng(0).integers(0, 60, (num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        x = (4 * t) % (width - 40)
        frames[t, 100:140, x : x + 40] = 230
    return frames


def _load_test(ckpt: str, out: Path, clients: int, jobs: int, num_frames: int, in_process: bool = False) -> dict:
    """Uploads from ``clients`` threads to a server in its own process (``in_process``: in a thread of this one,
    which saves its start, for the quick run); latency of each job until its result."""
    import httpx2

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    video = out / "load_160x120.avi"
    write_video(video, _moving_square(num_frames, 120, 160), fps=25)
    data = out / f"serve_{int(time.time())}"
    command = [sys.executable, "-m", "videovision", "serve", "--ckpt", ckpt, "--port", str(port)]
    command += ["--data-dir", str(data), "--max-jobs", str(clients)]
    if in_process:
        server = _ThreadServer(Settings(ckpt, data_dir=str(data), max_active_jobs=clients), port)
    else:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    latencies, failures = [], []
    try:
        with httpx2.Client(base_url=url, timeout=60) as client:
            deadline = time.time() + 180
            while time.time() < deadline:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx2.TransportError:
                    time.sleep(0.5)

            def work() -> None:
                for _ in range(jobs):
                    start = time.perf_counter()
                    reply = client.post("/jobs", files={"file": ("load.avi", video.read_bytes(), "video/x-msvideo")})
                    if reply.status_code != 202:
                        failures.append(f"{reply.status_code}: {reply.text}")
                        continue
                    while (job := client.get(f"/jobs/{reply.json()['id']}").json())["status"] not in ("done", "failed"):
                        time.sleep(0.05)
                    (latencies if job["status"] == "done" else failures).append(time.perf_counter() - start)

            start = time.perf_counter()
            threads = [threading.Thread(target=work) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(30)
    ms = 1000 * np.array(latencies or [np.nan])
    return {
        "clients": clients,
        "frames": num_frames,
        "jobs": clients * jobs,
        "done": len(latencies),
        "lost": clients * jobs - len(latencies),
        "failures": failures[:3],
        "jobs_per_s": round(len(latencies) / seconds, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


class _ThreadServer:
    """uvicorn serving the app in a daemon thread, stopped like a process (``terminate``, ``wait``)."""

    def __init__(self, settings: Settings, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def terminate(self) -> None:
        self.server.should_exit = True

    def wait(self, timeout: float) -> None:
        self.thread.join(timeout)


def _print(results: dict, per_frame: dict) -> None:
    size, window = results["size"], results["window"]
    cores, load = os.cpu_count(), results["load_average"][0]
    threads = results["threads"]
    cell = lambda value, spec: format(value, spec) if value is not None else "-"  # noqa: E731 (a runtime not run)
    print(f"\nStreaming at {size} px, {threads} threads (median ms per new frame); {cores} cores, load {load}")
    print(f"{'':<28}{'eager':>10}{'ONNX RT':>10}{'eager/ORT':>11}")
    for kind, label in (("step", "streaming step"), ("window", f"re-run {window}-frame window")):
        eager, ort_ms = per_frame[(kind, "eager")], per_frame.get((kind, "onnx"))
        ratio = eager / ort_ms if ort_ms else None
        print(f"{label:<28}{eager:>10.2f}{cell(ort_ms, '>10.2f'):>10}{cell(ratio, '>10.1f'):>10}x")
    step_ratio = [
        per_frame[("window", r)] / per_frame[("step", r)] if ("step", r) in per_frame else None
        for r in ("eager", "onnx")
    ]
    print(f"{'window / step':<28}{cell(step_ratio[0], '>9.1f'):>9}x{cell(step_ratio[1], '>9.1f'):>9}x")
    e2e = results["end_to_end"]
    print(f"\nEnd to end (320x240 video decoded in a thread at {size} px, every frame)")
    fps = [cell(e2e[r]["fps"], ".1f") if r in e2e else "-" for r in ("eager", "onnx")]
    print(f"{'frames/s':<28}{fps[0]:>10}{fps[1]:>10}")
    cells = [
        f"{e2e[r]['latency_ms']['p50']:.0f}/{e2e[r]['latency_ms']['p99']:.0f}" if r in e2e else "-"
        for r in ("eager", "onnx")
    ]
    print(f"{'latency p50/p99 (ms)':<28}{cells[0]:>10}{cells[1]:>10}", end="")
    server = results["server"]
    print(
        f"\n\nServer: {server['clients']} clients x {server['jobs'] // server['clients']} uploads "
        f"({server['frames']} frames, 160x120)"
    )
    print(
        f"jobs/s {server['jobs_per_s']}, job latency p50 {server['p50_ms']} ms, p99 {server['p99_ms']} ms, "
        f"done {server['done']}/{server['jobs']}, lost {server['lost']}"
    )
