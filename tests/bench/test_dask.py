"""The Dask executor: the same grid on a 2-worker LocalCluster gives the same rows as locally.

The cluster is loopback-only (127.0.0.1, no dashboards), processes=True, one thread per worker,
as ``--executor dask`` makes it. Results stream back to this process, the only store writer.
"""

from __future__ import annotations

import pytest

from licbench.bench.executors import DaskExecutor, LocalExecutor, WorkerSettings, make_executor
from licbench.bench.jobs import plan_jobs
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import create_codec
from licbench.datasets import load_dataset

distributed = pytest.importorskip("distributed")

COMPARED = ("codec", "quality", "image_sha256", "width", "height", "bytes", "bpp", "metrics")


def snapshot(store: Store, jobs) -> dict[str, tuple]:
    records = store.get(job.key for job in jobs)
    return {k: tuple(getattr(r, f) for f in COMPARED) for k, r in records.items()}


def test_dask_cluster_gives_the_rows_a_local_run_gives(tmp_path, image_folder):
    images = load_dataset(f"folder:{image_folder}").images()
    codecs = [create_codec("jpeg"), create_codec("webp")]
    # PSNR only: MS-SSIM would make each sandbox process import torch, seconds for nothing new
    jobs = plan_jobs(codecs, images, ["psnr-rgb"], {"jpeg": (10, 50, 90), "webp": (10, 50, 90)})
    settings = WorkerSettings(timeout=300)
    with Store(tmp_path / "local.sqlite") as store, LocalExecutor(2, settings) as local:
        execute(jobs, store, executor=local, progress=False)
        expected = snapshot(store, jobs)
    assert len(expected) == 18

    with DaskExecutor(workers=2, settings=settings) as executor:
        client = executor._connect()
        info = client.scheduler_info()
        addresses = [info["address"], *info["workers"]]
        assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
        assert len(info["workers"]) == 2
        assert all(w["nthreads"] == 1 for w in info["workers"].values())

        with Store(tmp_path / "dask.sqlite") as store:
            seen = []
            counts = execute(jobs, store, executor=executor, progress=False, on_record=seen.append)
            assert counts == {
                "total": 18,
                "cached": 0,
                "computed": 18,
                "same_bytes": 0,
                "failed": 0,
            }
            assert len(seen) == 18 and store.integrity_ok()
            assert snapshot(store, jobs) == expected
            # finished jobs are never sent to the cluster again
            assert execute(jobs, store, executor=executor, progress=False)["computed"] == 0


def test_executor_options_are_checked():
    with pytest.raises(ValueError, match="--scheduler needs --executor dask"):
        make_executor("local", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="unknown executor 'ray'"):
        make_executor("ray")
    with pytest.raises(ValueError, match="--timeout"):
        make_executor("local", timeout=-1)
    executor = make_executor("dask", workers=3, scheduler="tcp://10.0.0.1:8786", timeout=0)
    assert isinstance(executor, DaskExecutor) and executor.scheduler == "tcp://10.0.0.1:8786"
    assert executor.settings.timeout is None  # 0 means no limit
