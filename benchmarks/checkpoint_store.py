"""Checkpoint write and read time: a local folder against an S3 API server on loopback.

A 50 MB state (a dict of float32 tensors, as a model's state dict) is saved and loaded with
``hpo_notebook.checkpoints.save`` / ``load`` (what ``trial.save_checkpoint`` and
``trial.load_checkpoint`` call), to a local folder and to ``s3://`` on a moto server started
in its own process on 127.0.0.1. Beside them, the same bytes put and got with s3fs alone
(``pipe_file`` / ``cat_file``): what the store itself costs, so the ratio is our overhead.

    python -m benchmarks.checkpoint_store            # 50 MB, 5 repeats
    python -m benchmarks.checkpoint_store --mb 200 --repeats 3

Results: ``docs/results/checkpoint_store.json`` and ``.md``. Needs the test extra (moto,
s3fs).
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._results import RESULTS, publish


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _moto(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until it accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the moto server did not start within 30 s")


def _state(mb: int) -> dict[str, Any]:
    import torch

    gen = torch.Generator().manual_seed(0)
    per = 2 * 2**20  # 2 MB tensors, as layers of a model
    n = max(1, mb * 2**20 // per)
    return {f"layer{i}.weight": torch.randn(per // 4, generator=gen) for i in range(n)}


def _times(fn: Any, repeats: int) -> dict[str, float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(out), 3), "min_s": round(min(out), 3)}


def run(mb: int = 50, repeats: int = 5) -> dict[str, Any]:
    import boto3
    import s3fs
    import torch

    from hpo_notebook import checkpoints as C

    state = _state(mb)
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    port = _free_port()
    proc = _moto(port)
    endpoint = f"http://127.0.0.1:{port}"
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client(
            "s3", aws_access_key_id="testing", aws_secret_access_key="testing",
            **options["client_kwargs"],
        ).create_bucket(Bucket=bucket)  # fmt: skip
        rows: dict[str, dict[str, Any]] = {}
        with tempfile.TemporaryDirectory() as local:
            roots = {
                "local folder": str(Path(local) / ("a" * 32)),
                "S3 (moto, loopback)": C.CheckpointRoot(f"s3://{bucket}/ck/{'b' * 32}", options),
            }
            for name, root in roots.items():
                w = _times(lambda r=root: C.save(r, 0, 1, state, 1), repeats)
                r = _times(lambda r=root: C.load(r, 0), repeats)
                got, _ = C.load(root, 0)
                assert all(torch.equal(got[k], state[k]) for k in state)
                rows[name] = {"write": w, "read": r}
        fs = s3fs.S3FileSystem(**options)
        key = f"{bucket}/raw/state.pt"
        rows["S3, s3fs alone (same bytes)"] = {
            "write": _times(lambda: fs.pipe_file(key, data), repeats),
            "read": _times(lambda: fs.cat_file(key), repeats),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    raw = rows["S3, s3fs alone (same bytes)"]
    for row in rows.values():
        for op in ("write", "read"):
            row[op]["mb_per_s"] = round(len(data) / 2**20 / row[op]["median_s"], 1)
            row[op]["x_s3fs"] = round(row[op]["median_s"] / raw[op]["median_s"], 2)
    return {
        "mb": round(len(data) / 2**20, 1),
        "repeats": repeats,
        "rows": rows,
        "machine": "2 cores, no GPU (the team's shared box)",
        "when": time.strftime("%Y-%m-%d"),
    }


def render(res: dict[str, Any]) -> str:
    lines = [
        "# Checkpoints: write and read time",
        "",
        f"Machine: {res['machine']}; run {res['when']}. A {res['mb']} MB state (float32 "
        f"tensors), median of {res['repeats']} (min in brackets). `x s3fs`: time over s3fs "
        "alone putting or getting the same bytes (our overhead in an object store).",
        "",
        "| where | write (s) | write MB/s | write x s3fs | read (s) | read MB/s | read x s3fs |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in res["rows"].items():
        w, d = r["write"], r["read"]
        lines.append(
            f"| {name} | {w['median_s']} ({w['min_s']}) | {w['mb_per_s']} | {w['x_s3fs']} | "
            f"{d['median_s']} ({d['min_s']}) | {d['mb_per_s']} | {d['x_s3fs']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    return publish("checkpoint_store", run(args.mb, args.repeats), render, args.out, argv)


if __name__ == "__main__":
    main()
