"""Official CCA weights: fetch from a file:// URL or a mirror, record sums, verify, refuse fakes.

No test touches the network: sources are local folders served as ``file://`` URLs or mirrors,
and the planted files are small torch checkpoints with the official layout's signature keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from licbench.codecs.learned import CCA
from licbench.codecs.learned import official_weights as ow
from licbench.codecs.learned.checkpoints import discover_rate_points
from licbench.core.files import file_sha256

NAMES = [w.file for w in ow.CCA_OFFICIAL]


def plant_official(folder: Path, *, seed: int = 0) -> dict[str, str]:
    """Small files in the official layout (CCA's train.py wrapper, ``module.`` keys); their sums."""
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for i, weight in enumerate(ow.CCA_OFFICIAL):
        generator = torch.Generator().manual_seed(seed * 10 + i)
        state = {
            f"module.{key}": torch.randn(shape, generator=generator)
            for key, shape in ow.SIGNATURE_KEYS
        }
        payload = {"epoch": 64, "state_dict": state, "loss": 1.0, "optimizer": {"state": {}}}
        torch.save(payload, folder / weight.file)
        sums[weight.file] = file_sha256(folder / weight.file)
    return sums


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LICBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(ow.MIRROR_ENV, raising=False)
    monkeypatch.delenv(ow.URL_ENV, raising=False)
    return tmp_path / "home"


def test_manifest_is_the_readme_table_in_rate_order() -> None:
    assert [w.paper_lambda for w in ow.CCA_OFFICIAL] == [3.5, 1.8, 0.85, 0.3]
    assert [w.quality for w in ow.CCA_OFFICIAL] == [1, 2, 3, 4]
    assert ow.CCA_OFFICIAL[3].drive_id == "1gAUvZKKzlh0Tuo22kTMIxNmUZlXogpRO"  # λ = 0.3
    lmbdas = [w.lmbda for w in ow.CCA_OFFICIAL]
    assert lmbdas == sorted(lmbdas) and lmbdas[3] == pytest.approx(0.05 / 0.3)


def test_unavailable_before_fetching_names_the_command(home: Path) -> None:
    availability = ow.cca_weights_availability()
    assert not availability.ok
    assert str(home / "weights" / "cca") in availability.reason
    assert "licbench fetch-weights cca" in availability.hint
    assert all(name in availability.hint for name in NAMES)
    assert ow.cached_cca_checkpoints() is None
    with pytest.raises(ow.OfficialWeightsError, match="fetch-weights cca"):
        ow.official_cca_ckpt()


def test_fetch_from_a_file_url_records_sums_and_orders_by_rate(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "server"
    sums = plant_official(served / "cca")
    monkeypatch.setenv(ow.URL_ENV, served.as_uri())
    messages: list[str] = []
    paths = ow.fetch_cca_weights(report=messages.append)

    cache = home / "weights" / "cca"
    assert paths == [cache / name for name in NAMES]
    assert ow.cached_cca_checkpoints() == paths
    assert ow.cca_weights_availability().ok
    assert ow.official_cca_ckpt() == str(cache)
    record = json.loads((cache / "weights.json").read_text())
    assert {k: v["sha256"] for k, v in record["files"].items()} == sums
    assert record["files"][NAMES[0]]["source"] == f"{served.as_uri()}/cca/{NAMES[0]}"
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging left
    # the codec numbers a folder of official files (no lmbda inside) by name: rate order
    points = discover_rate_points(cache)
    assert [p.path.name for p in points] == NAMES and [p.quality for p in points] == [1, 2, 3, 4]
    codec = CCA(ckpt=ow.official_cca_ckpt())  # what `cca` without ckpt= will be given
    assert codec.qualities == (1, 2, 3, 4) and codec.config == "paper"
    assert [rp.sha256 for rp in codec.rate_points] == [sums[n] for n in NAMES]

    messages.clear()
    ow.fetch_cca_weights(report=messages.append)  # a second fetch downloads nothing
    assert all("already cached" in m for m in messages) and len(messages) == 4


def test_air_gapped_machine_copies_from_the_mirror(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sums = plant_official(tmp_path / "mirror" / "cca", seed=3)
    monkeypatch.setenv(ow.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(ow.URL_ENV, "http://192.0.2.1:9/unreachable")  # would fail if used
    paths = ow.fetch_cca_weights(report=None)
    assert [file_sha256(p) for p in paths] == [sums[n] for n in NAMES]
    assert ow.read_record()[NAMES[2]]["source"] == str(tmp_path / "mirror" / "cca" / NAMES[2])


def test_offline_failure_is_one_line_naming_what_to_copy_where(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ow.OfficialWeightsError) as caught:
        ow.fetch_cca_weights(report=None, base_url=(tmp_path / "nowhere").as_uri())
    message = str(caught.value)
    assert "\n" not in message
    assert NAMES[0] in message and str(home / "weights" / "cca") in message
    assert ow.MIRROR_ENV in message and "drive.google.com/file/d/" in message
    assert not (home / "weights" / "cca" / NAMES[0]).exists()


def test_an_html_page_instead_of_a_checkpoint_is_refused(home: Path, tmp_path: Path) -> None:
    served = tmp_path / "server"
    plant_official(served / "cca")
    (served / "cca" / NAMES[1]).write_text("<html>Google Drive can't scan this file</html>")
    with pytest.raises(ow.OfficialWeightsError, match="not an official CCA checkpoint"):
        ow.fetch_cca_weights(report=None, base_url=served.as_uri())
    cache = home / "weights" / "cca"
    assert (cache / NAMES[0]).is_file() and not (cache / NAMES[1]).exists()
    assert set(ow.read_record()) == {NAMES[0]}  # what was accepted stays recorded


def test_a_wrong_layout_is_refused(home: Path, tmp_path: Path) -> None:
    served = tmp_path / "server"
    plant_official(served / "cca")
    wrong = {"state_dict": {"g_a.down.0.weight": torch.zeros(32, 3, 5, 5)}}  # a tiny model's
    torch.save(wrong, served / "cca" / NAMES[0])
    with pytest.raises(ow.OfficialWeightsError, match=r"g_a\.down\.0\.weight should be"):
        ow.fetch_cca_weights(report=None, base_url=served.as_uri())


def test_recorded_sum_is_verified_on_every_later_fetch_and_check(
    home: Path, tmp_path: Path
) -> None:
    served = tmp_path / "server"
    plant_official(served / "cca")
    paths = ow.fetch_cca_weights(report=None, base_url=served.as_uri())

    # a damaged cache file (same size, new bytes) is noticed and no longer used
    data = bytearray(paths[2].read_bytes())
    data[-1] ^= 0xFF
    paths[2].write_bytes(bytes(data))
    assert ow.cached_cca_checkpoints() is None
    assert "does not match its recorded sha256" in ow.cca_weights_availability().reason
    # ... and fetched again from the source, whose sum matches the record
    ow.fetch_cca_weights(report=None, base_url=served.as_uri())
    assert ow.cached_cca_checkpoints() == paths

    # the source now serves other bytes under the same name: refused against the record
    plant_official(served / "cca", seed=7)
    paths[1].unlink()
    with pytest.raises(ow.OfficialWeightsError, match="differs from the recorded"):
        ow.fetch_cca_weights(report=None, base_url=served.as_uri())
    assert not paths[1].exists()


def test_files_copied_into_the_cache_by_hand_are_checked_and_recorded(home: Path) -> None:
    cache = home / "weights" / "cca"
    sums = plant_official(cache)
    assert ow.cached_cca_checkpoints() is None  # not recorded yet: the hint says to fetch
    assert "not recorded" in ow.cca_weights_availability().reason
    ow.fetch_cca_weights(report=None, base_url="http://192.0.2.1:9/never-used")
    assert {k: v["sha256"] for k, v in ow.read_record().items()} == sums
    assert ow.cca_weights_availability().ok


def test_a_touched_file_is_hashed_again_and_kept(home: Path, tmp_path: Path) -> None:
    served = tmp_path / "server"
    plant_official(served / "cca")
    paths = ow.fetch_cca_weights(report=None, base_url=served.as_uri())
    os.utime(paths[0], ns=(1, 1))
    assert ow.cached_cca_checkpoints() == paths  # same bytes: still good
    ow.fetch_cca_weights(report=None, base_url=served.as_uri())
    assert ow.read_record()[NAMES[0]]["mtime_ns"] == 1  # record refreshed, no re-download


def test_drive_downloads_go_through_gdown_by_id(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "planted"
    plant_official(planted)
    asked: list[str] = []

    def fake_gdown(weight: ow.OfficialWeight, out, quiet: bool) -> None:
        asked.append(weight.drive_id)
        out.write((planted / weight.file).read_bytes())

    monkeypatch.setattr(ow, "_download_drive", fake_gdown)
    ow.fetch_cca_weights(report=None)
    assert asked == [w.drive_id for w in ow.CCA_OFFICIAL]
    assert ow.read_record()[NAMES[0]]["source"] == f"gdrive:{ow.CCA_OFFICIAL[0].drive_id}"


def test_bare_cca_uses_the_official_weights_once_fetched(home: Path) -> None:
    """`--codecs cca` with no ckpt: unavailable with the fix until fetched, then the 4 points."""
    from licbench.api import default_codecs
    from licbench.codecs import codec_info, create_codec

    before = codec_info("cca")
    assert not before.availability.ok and "fetch-weights cca" in before.availability.hint
    assert "cca" not in {str(spec) for spec in default_codecs()}
    # a spec with its own weights never needs the official ones
    assert codec_info("cca", {"config": "tiny", "weights": "random"}).availability.ok
    plant_official(home / "weights" / "cca")
    ow.fetch_cca_weights(report=None, base_url="http://192.0.2.1:9/never-used")
    assert codec_info("cca").availability.ok
    codec = create_codec("cca")
    assert codec.qualities == (1, 2, 3, 4) and codec.config == "paper"
    points = [Path(rp.path).name for rp in codec.rate_points]
    assert points == NAMES  # lowest rate (largest paper λ) first
    assert "cca" in {str(spec) for spec in default_codecs()}
