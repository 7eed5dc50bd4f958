"""Checkpoints in an object store: a real S3 API server (moto's) on loopback, reached
through fsspec and s3fs exactly as a cluster reaches a bucket.

Everything a local checkpoint folder guarantees is checked here again at an ``s3://`` URL:
the round trip, one checkpoint per trial, a save cut short leaves the previous checkpoint and
its step, cleanup and ``keep_best``, resume after an interrupted run and after a killed
driver, and that credentials never reach the study file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid

import pytest

import hpo_notebook as hn
from hpo_notebook import checkpoints as C
from hpo_notebook.checkpoints import Checkpoints

moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
s3fs = pytest.importorskip("s3fs", reason="s3fs is in the test and cloud extras")

SPACE = hn.Space(x=hn.Float(0.0, 1.0))
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def endpoint():
    """A real S3 API server on 127.0.0.1, on a free port, for this module."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def options(endpoint):
    """Storage options for a fresh bucket (credentials are moto's: any will do)."""
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }


@pytest.fixture()
def bucket(options):
    import boto3

    name = f"ck-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **options["client_kwargs"],
    ).create_bucket(Bucket=name)
    return name


def _fs(options):
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    fs.invalidate_cache()
    return fs


def _objects(options, prefix):
    return sorted(p.split("/", 1)[1] for p in _fs(options).find(prefix))


@pytest.mark.slow
def test_round_trip_one_checkpoint_per_trial_and_the_folder_is_a_url(options, bucket):
    policy = Checkpoints(f"s3://{bucket}/runs", storage_options=options)
    study = hn.Study(None, SPACE, objectives={"loss": "min"}, checkpoints=policy)
    uid = study._ledger.record.uid
    assert study.checkpoint_dir == f"s3://{bucket}/runs/{uid}"
    t = study.ask()
    assert t.load_checkpoint() is None
    t.report(3, loss=0.5)
    t.save_checkpoint({"weights": [1.0, 2.0]})
    t.save_checkpoint({"weights": [3.0]})  # replaced, not appended
    assert t.load_checkpoint() == {"weights": [3.0]} and t.checkpoint_step == 3
    assert t.checkpoint_dir == f"s3://{bucket}/runs/{uid}/trial-0"
    names = [n.rsplit("/", 1)[1] for n in _objects(options, bucket)]
    meta = json.loads(_fs(options).cat(f"{bucket}/runs/{uid}/trial-0/meta.json"))
    assert sorted(names) == sorted([".owner", "meta.json", meta["file"]])
    assert meta["step"] == 3 and meta["bytes"] > 0 and meta["reports"][0]["step"] == 3


@pytest.mark.slow
def test_a_save_cut_short_leaves_the_previous_checkpoint_and_its_step(options, bucket, monkeypatch):
    study = hn.Study(
        None, SPACE, objectives={"loss": "min"},
        checkpoints=Checkpoints(f"s3://{bucket}/c", storage_options=options),
    )  # fmt: skip
    t = study.ask()
    t.report(1, loss=1.0)
    t.save_checkpoint({"at": 1})
    t.report(2, loss=0.5)

    class Unpicklable:
        def __reduce__(self):
            raise KeyboardInterrupt  # the process is killed while the state is serialized

    with pytest.raises(KeyboardInterrupt):
        t.save_checkpoint({"at": 2, "bad": Unpicklable()})
    fs, _ = C._fs(study._ledger.checkpoint_root)  # fsspec hands out one instance per options
    real_pipe = fs.pipe_file

    class Killed(Exception):
        pass

    def die_at_meta(path, *args, **kwargs):
        if path.endswith("meta.json"):
            raise Killed  # killed after the new checkpoint, before its meta
        return real_pipe(path, *args, **kwargs)

    monkeypatch.setattr(fs, "pipe_file", die_at_meta)
    with pytest.raises(Killed):
        t.save_checkpoint({"at": 2})
    monkeypatch.undo()
    assert C.load(study._ledger.checkpoint_root, 0) == ({"at": 1}, 1)
    # the orphan of the second cut is replaced by the next save
    t.save_checkpoint({"at": 3}, step=3)
    pts = [n for n in _objects(options, bucket) if n.endswith(".pt")]
    assert len(pts) == 1 and C.load(study._ledger.checkpoint_root, 0) == ({"at": 3}, 3)


@pytest.mark.slow
def test_cleanup_keeps_the_best_and_drops_pruned_and_failed(options, bucket):
    study = hn.Study(
        None, SPACE, objectives={"loss": "min"}, optimizer="sobol",
        checkpoints=Checkpoints(f"s3://{bucket}/c", keep_best=2, storage_options=options),
    )  # fmt: skip
    trials = study.ask(6)
    for t in trials:
        t.save_checkpoint({"x": t.params["x"]}, step=1)
    for t, loss in zip(trials[:4], [0.5, 0.1, 0.3, 0.2]):
        study.tell(t, loss)
    study.tell(trials[4], ValueError("boom"))
    root = study._ledger.checkpoint_root
    assert C.stored(root) == [1, 3, 5]  # the best two complete + the running one
    study.tell(trials[5], hn.Pruned("behind"))
    assert C.stored(root) == [1, 3]
    folders = {n.split("/")[2] for n in _objects(options, bucket)}
    assert folders == {"trial-1", "trial-3"}


@pytest.mark.slow
def test_cleanup_never_deletes_what_the_study_did_not_write(options, bucket):
    study = hn.Study(
        None, SPACE, objectives={"loss": "min"},
        checkpoints=Checkpoints(f"s3://{bucket}/c", keep_best=0, storage_options=options),
    )  # fmt: skip
    uid = study._ledger.record.uid
    fs = _fs(options)
    fs.pipe(f"{bucket}/c/{uid}/trial-99/data.txt", b"not yours")  # unmarked, not a trial's
    fs.pipe(f"{bucket}/c/{uid}/trial-1/.owner", b"0" * 32)  # another study's mark
    fs.pipe(f"{bucket}/c/trial-0/data.txt", b"not yours")  # beside the study's folder
    for t in study.ask(3):
        t.save_checkpoint({"w": 1}, step=1)
        study.tell(t, 0.5)
    left = _objects(options, bucket)
    assert f"c/{uid}/trial-99/data.txt" in left and f"c/{uid}/trial-1/.owner" in left
    assert "c/trial-0/data.txt" in left
    assert not any(n.startswith((f"c/{uid}/trial-0/", f"c/{uid}/trial-2/")) for n in left)
    assert C.stored(study._ledger.checkpoint_root) == []


def _resumable(params, trial):
    state = trial.load_checkpoint() or {"epoch": 0}
    for epoch in range(state["epoch"] + 1, 6):
        trial.sleep(100.0)
        trial.report(epoch, loss=params["x"] / epoch)
        trial.save_checkpoint({"epoch": epoch})
    return {"loss": params["x"] / 5}


@pytest.mark.slow
def test_an_interrupted_trial_resumes_from_its_s3_checkpoint_in_a_reopened_study(
    tmp_path, options, bucket
):
    path = str(tmp_path / "s.db")
    study = hn.Study(
        _resumable, SPACE, {"loss": "min"}, optimizer="sobol", seed=0, storage=path,
        checkpoints=Checkpoints(f"s3://{bucket}/c", storage_options=options),
    )  # fmt: skip
    cluster = hn.SimulatedCluster(1, start=T0)
    study.run(1, cluster=cluster, timeout=350.0, progress=False, show=False)  # after epoch 3
    assert study.trial(0).state is hn.TrialState.INTERRUPTED
    study.close()
    # the study file names the bucket but holds no credentials
    conn = sqlite3.connect(path)
    settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
    conn.close()
    assert settings["checkpoints"] == {"dir": f"s3://{bucket}/c", "keep_best": 3,
                                       "max_bytes": None}  # fmt: skip
    with open(path, "rb") as f:
        assert b"testing" not in f.read()
    assert "testing" not in repr(study.settings.checkpoints)

    again = hn.load_study(path, _resumable, storage_options=options)
    again.run(cluster=cluster, progress=False, show=False)
    t = again.trial(0)
    assert t.state is hn.TrialState.COMPLETE and t.attempt == 2
    assert t.extra["checkpoint_step"] == 3 and t.duration == 200.0  # epochs 4 and 5 only
    assert again.curves(0)["step"].tolist() == [1, 2, 3, 4, 5]
    assert not (tmp_path / "s.db.checkpoints").exists()  # nothing went to the local disk


def test_reopened_without_options_the_environment_reaches_the_bucket(
    tmp_path, options, bucket, monkeypatch
):
    path = str(tmp_path / "s.db")
    study = hn.Study(
        None, SPACE, {"loss": "min"}, storage=path,
        checkpoints=Checkpoints(f"s3://{bucket}/c", storage_options=options),
    )  # fmt: skip
    t = study.ask()
    t.save_checkpoint({"w": 7}, step=2)
    study.close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", options["client_kwargs"]["endpoint_url"])
    again = hn.load_study(path)
    assert again.checkpoint_dir == f"s3://{bucket}/c/{again._ledger.record.uid}"
    assert C.load(again._ledger.checkpoint_root, 0) == ({"w": 7}, 2)
    again.close()


def test_bad_urls_and_options_are_refused_before_anything_runs(tmp_path, options):
    with pytest.raises(hn.ConfigError, match=r"'nope://b/x'.*Protocol not known"):
        Checkpoints("nope://b/x")
    with pytest.raises(hn.ConfigError, match="storage_options are for a URL dir"):
        Checkpoints(str(tmp_path), storage_options=options)
    with pytest.raises(hn.ConfigError, match="storage_options must be a dict"):
        Checkpoints("s3://b/x", storage_options=[("key", "k")])
    path = str(tmp_path / "local.db")
    hn.Study(None, SPACE, {"loss": "min"}, storage=path).close()
    with pytest.raises(hn.StorageError, match="storage_options were given, but the study's"):
        hn.load_study(path, storage_options=options)


def test_a_store_whose_package_is_missing_names_the_extra(monkeypatch):
    import fsspec

    def missing(url, **kw):
        raise ImportError("Install s3fs to access S3")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    with pytest.raises(hn.ConfigError, match=r"needs a package.*hpo-notebook\[cloud\]"):
        Checkpoints("s3://bucket/x")


DRIVER = textwrap.dedent(
    """
    import json, os, sys
    import hpo_notebook as hn
    from hpo_notebook.testing.problems import checkpointed

    if __name__ == "__main__":
        space = hn.Space(x=hn.Float(0.0, 1.0), steps=hn.Choice([12]), step_s=hn.Choice([0.05]))
        policy = hn.Checkpoints(sys.argv[2], storage_options=json.loads(os.environ["S3_OPTS"]))
        study = hn.Study(checkpointed, space, objectives={"loss": "min"}, storage=sys.argv[1],
                         seed=12, optimizer="sobol", checkpoints=policy)
        study.subscribe(
            lambda e: e["type"] == "reports" and print("steps", *[r["step"] for r in
                                                                 e["reports"]], flush=True)
        )
        study.run(n_trials=4, concurrency=2)
    """
)


@pytest.mark.slow
def test_driver_killed_then_resumed_with_checkpoints_in_s3(tmp_path, options, bucket, dask_client):
    """Worker processes of two clusters (the killed driver's and the resuming one's) save to
    and load from the bucket; the options travel with each trial."""
    from hpo_notebook.testing.problems import checkpointed

    db, url = str(tmp_path / "ckpt.db"), f"s3://{bucket}/runs"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "S3_OPTS": json.dumps(options)}
    proc = subprocess.Popen(
        [sys.executable, str(script), db, url], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True, env=env,
    )  # fmt: skip
    try:
        for line in proc.stdout:  # wait until some trial is well into its curve
            if line.startswith("steps") and any(int(s) >= 6 for s in line.split()[1:]):
                break
        else:
            pytest.fail("the driver ended early")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = hn.load_study(db)
    interrupted = [t.number for t in before.trials if t.state is hn.TrialState.RUNNING]
    before.close()
    assert interrupted
    study = hn.load_study(db, checkpointed, storage_options=options)
    study.run(cluster=dask_client)
    assert study.counts()["COMPLETE"] == 4
    resumed = 0
    for number in interrupted:
        curve = study.curves(number)
        assert curve["step"].tolist() == list(range(1, 13))
        ckpt = study.trial(number).extra["checkpoint_step"]
        if ckpt is not None:
            resumed += 1
            assert set(curve[curve["step"] <= ckpt]["attempt"]) == {1}
            assert set(curve[curve["step"] > ckpt]["attempt"]) == {2}
    assert resumed >= 1
    assert not (tmp_path / "ckpt.db.checkpoints").exists()
    uid = study._ledger.record.uid
    kept = {n.split("/")[2] for n in _objects(options, bucket)}
    assert kept == {f"trial-{n}" for n in C.stored(study._ledger.checkpoint_root)}
    assert len(kept) == 3 and all(n.startswith(f"runs/{uid}/") for n in _objects(options, bucket))


@pytest.mark.slow
def test_max_bytes_bounds_the_store_worst_first(options, bucket):
    policy = Checkpoints(f"s3://{bucket}/c", keep_best=3, max_bytes=2_500, storage_options=options)
    study = hn.Study(None, SPACE, {"loss": "min"}, optimizer="sobol", checkpoints=policy)
    root = study._ledger.checkpoint_root
    for t, loss in zip(study.ask(3), [0.3, 0.1, 0.2]):
        t.save_checkpoint({"w": [loss] * 100}, step=1)  # about 1.7 KB each, with its meta
        study.tell(t, loss)
    sizes = {n: C.size(root, n) for n in C.stored(root)}
    assert C.stored(root) == [1]  # the best; the others went worst first past 2,500 bytes
    assert 1_000 < sum(sizes.values()) <= 2_500
