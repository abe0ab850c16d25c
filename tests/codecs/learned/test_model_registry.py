"""The learned architectures live in the generic Registry and are public from ``licbench``."""

from __future__ import annotations

import subprocess
import sys

import pytest

import licbench
from licbench.codecs.learned.configs import ARCHS, MODELS, Arch
from licbench.registry import Registry, RegistryError


def test_architectures_are_registry_entries_and_archs_reads_them() -> None:
    assert isinstance(MODELS, Registry)
    assert MODELS.names() == ["cca", "convnext-charm", "swint-charm"]
    assert list(ARCHS) == MODELS.names() and len(ARCHS) == 3
    assert ARCHS["cca"] is MODELS.get("cca") and isinstance(ARCHS["cca"], Arch)
    assert "swint-charm" in ARCHS and "vtm" not in ARCHS
    assert sorted(ARCHS["convnext-charm"].configs) == ["paper", "small", "tiny"]
    with pytest.raises(KeyError):
        ARCHS["convnext"]
    with pytest.raises(RegistryError, match="already registered"):
        MODELS.register("cca", ARCHS["cca"])


def test_unknown_architecture_names_close_matches() -> None:
    with pytest.raises(KeyError, match="did you mean 'convnext-charm'"):
        licbench.create_model("convnext", "tiny")


def test_top_level_create_model_and_list_models() -> None:
    assert licbench.list_models("*/tiny") == ["cca/tiny", "convnext-charm/tiny", "swint-charm/tiny"]
    assert licbench.list_models("cca*") == ["cca/paper", "cca/tiny", "cca/small"]
    assert {"create_model", "list_models"} <= set(licbench.__all__)
    model = licbench.create_model("cca", "tiny")
    assert (model.arch, model.config_name) == ("cca", "tiny")
    assert model.latent.slices == (1, 4, 8, 13, 22)  # 48 channels ∝ i^1.7
    assert licbench.create_model("swint-charm/tiny").arch == "swint-charm"


def test_importing_licbench_and_listing_models_imports_no_torch() -> None:
    code = (
        "import sys, licbench; names = licbench.list_models('*'); "
        "assert len(names) == 8, names; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
