"""A scheduler secured with TLS (``distributed.security.Security``) works when the user passes
a ``Client``; the LocalCluster the study starts itself binds loopback only."""

from __future__ import annotations

import logging
import warnings

import pytest

import hpo_notebook as hn
from hpo_notebook.testing.problems import checkpointed

pytestmark = pytest.mark.slow

SPACE = hn.Space(x=hn.Float(0.2, 0.3), steps=hn.Choice([4]), step_s=hn.Choice([0.05]))


def test_a_study_runs_on_a_tls_cluster_through_the_users_client(tmp_path):
    from distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary()  # a self-signed CA, certificates for all three roles
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            protocol="tls://", security=security, dashboard_address=None,
            silence_logs=logging.ERROR,
        )  # fmt: skip
    client = Client(cluster, security=security, set_as_default=False)
    try:
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
        study = hn.Study(
            checkpointed, SPACE, {"loss": "min"}, optimizer="sobol", seed=1,
            pruner=hn.ASHA(4), checkpoints=str(tmp_path / "ck"),
        )  # fmt: skip
        study.run(n_trials=6, cluster=client, progress=False, show=False)
        assert study.counts()["COMPLETE"] + study.counts()["PRUNED"] == 6
        # reports, pruning decisions and the stop event all went through the TLS scheduler
        assert all(study.curves(t.number)["step"].tolist()[:1] == [1] for t in study.trials)
        assert study.progress().workers == 2
        # a client with certificates of another authority is refused: it really is secured
        with pytest.raises((OSError, TimeoutError)):
            Client(cluster.scheduler_address, security=Security.temporary(), timeout=3,
                   set_as_default=False)  # fmt: skip
    finally:
        client.close()
        cluster.close()


def test_the_cluster_a_study_starts_itself_binds_loopback_only():
    from hpo_notebook.execution.dask import DaskExecutor

    seen = {}

    def where(params, trial):
        from distributed import get_worker

        return {"loss": params["x"], "host": float(get_worker().address.startswith("tcp://127."))}

    study = hn.Study(where, SPACE, {"loss": "min"}, optimizer="sobol", seed=2)
    original = DaskExecutor.open

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen["scheduler"] = self._own_cluster.scheduler_address
        seen["dashboard"] = self._own_cluster.dashboard_link

    DaskExecutor.open = spy
    try:
        study.run(n_trials=2, concurrency=2, progress=False, show=False)
    finally:
        DaskExecutor.open = original
    assert seen["scheduler"].startswith("tcp://127.0.0.1:")
    assert seen["dashboard"].startswith("http://127.0.0.1:")
    assert [t.values["host"] for t in study.trials] == [1.0, 1.0]  # workers on loopback too
