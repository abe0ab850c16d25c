from __future__ import annotations

import pytest

from licbench.codecs import CodecSpec, CodecSpecError, create_codec, list_codecs, parse_codec_specs


def test_spec_parsing_plain_and_with_parameters():
    assert CodecSpec.parse("jpeg") == CodecSpec("jpeg")
    spec = CodecSpec.parse("cca:config=tiny,ckpt=/tmp/x")
    assert spec.name == "cca"
    assert dict(spec.params) == {"config": "tiny", "ckpt": "/tmp/x"}
    # canonical form sorts parameters so equal specs give equal cache keys
    assert str(spec) == "cca:ckpt=/tmp/x,config=tiny"
    assert CodecSpec.parse("cca:ckpt=/tmp/x,config=tiny") == spec


def test_codecs_option_tokens():
    specs = parse_codec_specs(["jpeg,webp", "cca:config=tiny,ckpt=DIR", "avif"])
    assert [str(s) for s in specs] == ["jpeg", "webp", "cca:ckpt=DIR,config=tiny", "avif"]


@pytest.mark.parametrize("bad", [":x=1", "cca:config", "cca:a=1,a=2", "cca:=3"])
def test_bad_specs_are_rejected_clearly(bad):
    with pytest.raises(CodecSpecError):
        CodecSpec.parse(bad)


def test_create_codec_rejects_unknown_parameters():
    with pytest.raises(CodecSpecError, match="takes no parameters"):
        create_codec("jpeg:foo=1")


def test_list_codecs_with_pattern():
    assert list_codecs("jpeg*") == ["jpeg", "jpeg2000", "jpegxl"]
    assert set(list_codecs()) >= {"jpeg", "webp", "jpeg2000", "avif"}
