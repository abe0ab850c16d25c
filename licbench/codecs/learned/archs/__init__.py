"""licbench's learned architectures, one module each: what licbench needs to know of one.

A module here declares one architecture and nothing else needs to name it: its configurations
(a frozen dataclass per architecture, with a :class:`~licbench.codecs.learned.latent_config.
LatentConfig` for the shared channel-wise latent codec), its codec class, decorated with
:func:`~licbench.codecs.learned.configs.register_architecture` (which makes it the codec
``name`` and the models ``name/<config>``), and the codecs that ship weights for it, decorated
with :func:`~licbench.codecs.learned.configs.register_codec`. The network itself (``torch.nn``
code) is the module the declaration's ``builder`` names, imported only when a model is built:
these modules import no torch, so listing codecs and models stays cheap.

To add an architecture ``foo``: write its network (``licbench/codecs/learned/foo.py`` with
``build_foo(cfg, *, arch, config_name) -> LearnedCompressionModel``) and ``archs/foo.py``::

    @dataclass(frozen=True)
    class FooConfig:
        latent: LatentConfig
        width: int = 192

    @register_architecture(
        "foo",
        builder="licbench.codecs.learned.foo:build_foo",
        configs={"paper": FooConfig(LatentConfig(320, 192, (32,) * 10, "slice", None, True)),
                 "tiny": FooConfig(LatentConfig(48, 32, (8,) * 6, "slice", None, True), 32)},
        description="Foo (Someone et al. 2025): ...",
    )
    class Foo(LearnedCodec):
        pass

``licbench codecs`` then lists ``foo``, ``licbench.list_models()`` ``foo/paper`` and
``foo/tiny``, ``licbench train --arch foo`` trains it, and its key digests ``foo.py``, the
modules it imports and the configuration in use.
"""
