"""The deployment recipes of docs/how-to/deploy.md, executed as far as this machine allows:
each code block marked ``<!-- tested: NAME -->`` runs here as it is in the docs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hpo_notebook as hn

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parent.parent / "docs" / "how-to" / "deploy.md"


def _block(name: str) -> str:
    """The code block marked ``<!-- tested: name -->`` in the recipe page."""
    m = re.search(rf"<!-- tested: {name} -->\n```(?:python|bash)\n(.*?)```", DOC.read_text(), re.S)
    assert m, f"no block marked 'tested: {name}' in {DOC}"
    return m.group(1)


def test_the_slurm_recipe_asks_for_the_gpu_and_memory_and_its_worker_runs_a_study():
    pytest.importorskip("dask_jobqueue", reason="dask-jobqueue is in the test extra")
    from distributed import Client

    ns: dict = {}
    exec(_block("slurm"), ns)
    cluster, script = ns["cluster"], ns["script"]
    try:
        directives = [line for line in script.splitlines() if line.startswith("#SBATCH")]
        assert "#SBATCH --gres=gpu:1" in directives  # the GPU, from SLURM
        assert "#SBATCH --cpus-per-task=8" in directives and "#SBATCH -p gpu" in directives
        assert any(d.startswith("#SBATCH --mem=") for d in directives)
        command = script.strip().splitlines()[-1]
        assert "--resources GPU=1" in command  # ... declared to Dask
        assert "--memory-limit 59.60GiB" in command  # the memory= of the recipe, for Dask
        # no sbatch here: start the job's worker command by hand, with this interpreter
        args = shlex.split(command)
        args[0] = sys.executable
        args[args.index("--name") + 1] = "slurm-job-1"
        worker = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client = Client(cluster, set_as_default=False)
            client.wait_for_workers(1, timeout=60)
            info = next(iter(client.scheduler_info()["workers"].values()))
            assert info["resources"] == {"GPU": 1.0} and info["nthreads"] == 8
            space = hn.Space(x=hn.Float(0.0, 1.0))
            study = hn.Study(lambda p, t: {"loss": p["x"]}, space, {"loss": "min"},
                             optimizer="sobol", seed=0)  # fmt: skip
            study.run(4, cluster=client, resources={"GPU": 1}, progress=False, show=False)
            assert study.counts()["COMPLETE"] == 4
            assert study.progress().capacity == 1  # one trial per GPU
            client.close()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    finally:
        cluster.close()


def test_the_kubernetes_recipe_asks_each_worker_pod_for_a_gpu_it_declares():
    pytest.importorskip("dask_kubernetes", reason="dask-kubernetes is in the test extra")
    ns: dict = {}
    exec(_block("kubernetes"), ns)
    worker = ns["spec"]["spec"]["worker"]
    container = worker["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "memory": "32Gi"}
    assert container["args"][:4] == ["dask", "worker", "--resources", "GPU=1"]
    assert worker["replicas"] == 4


def test_a_batch_job_can_be_watched_from_another_process_while_it_runs(tmp_path):
    script = tmp_path / "study_job.py"
    script.write_text(_block("batch"))
    path = tmp_path / "study.db"
    args = [sys.executable, str(script), str(path)]
    job = subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while job.poll() is None and time.monotonic() < deadline:
            if path.exists():
                try:
                    study = hn.load_study(str(path))  # a reader beside the job's writer
                except hn.StorageError:
                    continue  # the job has not created the study yet
                seen.append(study.counts()["COMPLETE"])
                study.close()
            time.sleep(0.5)  # polling a file another process writes: there is no event
        assert job.wait(timeout=60) == 0, job.stderr.read()
    finally:
        if job.poll() is None:
            job.kill()
    assert any(0 < n < 24 for n in seen), seen  # watched mid-run
    assert seen == sorted(seen)  # never went back
    assert hn.load_study(str(path)).counts()["COMPLETE"] == 24
