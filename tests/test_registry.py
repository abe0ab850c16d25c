from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from licbench import registry as registry_module
from licbench.codecs import CODECS
from licbench.registry import Registry, RegistryError, import_object


def test_collision_is_an_error():
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(RegistryError, match="'a' is already registered"):
        reg.register("a", 2)
    assert reg.get("a") == 1


def test_unknown_name_suggests_close_matches():
    reg: Registry[int] = Registry("codec")
    for name in ("jpeg", "jpeg2000", "webp"):
        reg.register(name, 0)
    with pytest.raises(RegistryError, match="did you mean 'jpeg'"):
        reg.get("jpg")


def test_lazy_entries_are_imported_on_first_use():
    reg: Registry[object] = Registry("thing")
    reg.register("join", "os.path:join")
    assert isinstance(reg._entries["join"], str)
    import os.path

    assert reg.get("join") is os.path.join


def test_decorator_registration_and_wildcards():
    reg: Registry[type] = Registry("thing")

    @reg.register("convnext-charm")
    class A:
        pass

    reg.register("cca", int)
    assert reg.names("conv*") == ["convnext-charm"]
    assert reg.get("convnext-charm") is A


def test_entry_point_plugins_are_loaded_and_cannot_shadow(monkeypatch):
    plugin = EntryPoint(name="myjpeg", value="licbench.codecs.pillow:JPEG", group="licbench.codecs")
    clash = EntryPoint(name="jpeg", value="licbench.codecs.pillow:WebP", group="licbench.codecs")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [plugin])
    reg = Registry("codec", "licbench.codecs")
    reg.register("jpeg", "licbench.codecs.pillow:JPEG")
    assert reg.names() == ["jpeg", "myjpeg"]
    assert reg.get("myjpeg").__name__ == "JPEG"

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [clash])
    reg2 = Registry("codec", "licbench.codecs")
    reg2.register("jpeg", "licbench.codecs.pillow:JPEG")
    with pytest.raises(RegistryError, match="already registered"):
        reg2.names()


def test_registries_share_one_entry_point_scan():
    """The installed distributions are read once per process, not once per registry."""
    registry_module._installed_entry_points.cache_clear()
    for kind, group in (
        ("codec", "licbench.codecs"),
        ("dataset", "licbench.datasets"),
        ("metric", "licbench.metrics"),
        ("reference", "licbench.references"),
    ):
        Registry(kind, group).names()
    assert registry_module._installed_entry_points.cache_info().misses == 1


def test_import_object_rejects_bad_targets():
    with pytest.raises(ValueError, match="module:Object"):
        import_object("no_colon_here")


def test_builtin_codecs_are_registered():
    assert {"jpeg", "webp", "jpeg2000", "avif"} <= set(CODECS.names())
