import subprocess
import sys

from app import __version__, paths


def test_version_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"hearth {__version__}"
    helptext = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "gui" in helptext


def test_hearth_home_puts_everything_under_one_folder(hearth_home):
    for folder in (paths.data_dir(), paths.config_dir(), paths.cache_dir(), paths.models_dir()):
        assert folder.is_dir()
        assert hearth_home in folder.parents


def test_tiny_model_loads_in_real_llama_cpp(tiny_model):
    import llama_cpp

    llm = llama_cpp.Llama(str(tiny_model), n_ctx=256, verbose=False)
    assert llm.metadata["general.architecture"] == "gpt-oss"
    toks = llm.tokenize(b"<|start|>user<|message|>hi<|end|>", special=True)
    assert toks[0] == llm.tokenize(b"<|start|>", add_bos=False, special=True)[0]
