"""A learned codec's key covers the code that defines it (issue 20, item 4).

The digest is of the architecture's modules (found by reading imports), the coding glue and the
configuration in use; it moves with any change to a statement in those files and with nothing
else: not a docstring or a comment, not another architecture's module, not the rest of
licbench.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from licbench.codecs import create_codec
from licbench.codecs.learned import code_identity

PACKAGE = "licbench.codecs.learned"


def test_an_architecture_is_its_own_modules_and_the_coding_glue():
    modules = set(code_identity.arch_modules("cca"))
    own = {"cca", "layers", "latent_codec", "latent_config", "slice_coder", "support_policy"}
    own |= {"model", "tiling", "codec", "bitstream"}
    assert modules == {f"{PACKAGE}.{name}" for name in own}
    swint = set(code_identity.arch_modules("swint-charm"))
    assert f"{PACKAGE}.swin" in swint and f"{PACKAGE}.swin" not in modules
    # not: every architecture's configurations, training, downloading, other codecs
    for name in ("configs", "train", "official_weights", "checkpoints", "zoo"):
        assert f"{PACKAGE}.{name}" not in modules | swint


def test_docstrings_and_comments_do_not_count_statements_do(tmp_path: Path):
    source = textwrap.dedent(
        '''\
        """Module docs."""
        def f(x):
            """Function docs."""
            return x + 1  # a comment
        '''
    )
    variants = {
        "same": source,
        "docs": source.replace("Module docs.", "Other docs.").replace("Function", "Method"),
        "comment": source.replace("# a comment", "# another comment, longer"),
        "layout": source.replace("x + 1", "(x+1)"),
        "code": source.replace("x + 1", "x + 2"),
    }
    digests = {}
    for name, text in variants.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        digests[name] = code_identity.file_digest(path)
    assert digests["docs"] == digests["comment"] == digests["layout"] == digests["same"]
    assert digests["code"] != digests["same"]


@pytest.fixture
def copy_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``copy_of("layers")``: a copy of that module's file that the digests read instead."""
    real = code_identity.module_file
    copies: dict[str, Path] = {}

    def module_file(name: str) -> Path:
        return copies.get(name) or real(name)

    monkeypatch.setattr(code_identity, "module_file", module_file)

    def make(short: str) -> Path:
        name = f"{PACKAGE}.{short}"
        copies[name] = tmp_path / f"{short}.py"
        shutil.copy(real(name), copies[name])
        return copies[name]

    return make


def test_a_changed_layer_changes_the_key_of_the_architectures_using_it(copy_of):
    before = {a: code_identity.arch_code_digest(a, "tiny") for a in ("cca", "swint-charm")}
    swin = copy_of("swin")
    swin.write_text(swin.read_text() + "\nEXTRA = 1\n")
    after = {a: code_identity.arch_code_digest(a, "tiny") for a in ("cca", "swint-charm")}
    assert after["cca"] == before["cca"]  # CCA does not run swin.py
    assert after["swint-charm"] != before["swint-charm"]
    tiling = copy_of("tiling")
    tiling.write_text(tiling.read_text().replace("TILE_MULTIPLE = 128", "TILE_MULTIPLE = 256"))
    assert code_identity.arch_code_digest("cca", "tiny") != before["cca"]


def test_the_digest_is_in_the_version_and_follows_the_configuration():
    tiny = create_codec("cca:config=tiny,weights=random")
    paper = create_codec("cca:config=paper,weights=random")
    assert f"code={code_identity.arch_code_digest('cca', 'tiny')}" in tiny.version()
    assert f"code={code_identity.arch_code_digest('cca', 'paper')}" in paper.version()
    assert tiny.code_digest() != paper.code_digest()


def test_a_compressai_model_is_digested_with_its_bases_and_your_package(tmp_path: Path):
    from licbench.codecs.learned import zoo

    cheng = code_identity.class_files(zoo.zoo_architecture("cheng2020-attn"))
    assert [name for name, _ in cheng] == [
        "compressai.models.base",
        "compressai.models.google",
        "compressai.models.waseda",
    ]
    package = tmp_path / "mynets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "blocks.py").write_text("WIDTH = 8\n")
    (package / "models.py").write_text(
        textwrap.dedent(
            """\
            from compressai.models import FactorizedPrior
            from mynets import blocks

            class Net(FactorizedPrior):
                def __init__(self):
                    super().__init__(blocks.WIDTH, 12)
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        codec = create_codec("compressai:model=mynets.models:Net,weights=random")
        first = codec.version()
        assert f"code={codec.code_digest()}" in first
        (package / "blocks.py").write_text("WIDTH = 16\n")  # the imported module changed
        assert create_codec("compressai:model=mynets.models:Net,weights=random").version() != first
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "mynets" or m.startswith("mynets.")]:
            del sys.modules[name]
