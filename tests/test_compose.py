"""docker-compose.yml cannot be run here (no Docker engine), so check it against the code."""

import re
from pathlib import Path
from typing import Any

import yaml

from app.cli import cli
from app.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _cli_commands() -> set[str]:
    names = {c.name or c.callback.__name__ for c in cli.registered_commands}  # type: ignore[union-attr]
    names |= {g.name for g in cli.registered_groups if g.name}
    return names


def test_services_are_the_designed_ones() -> None:
    services = _compose()["services"]
    assert {"postgres", "migrate", "app", "worker", "vllm", "model_server"} <= set(services)


def test_app_waits_for_the_one_shot_migration() -> None:
    s = _compose()["services"]
    assert s["migrate"]["command"] == ["critiquelab", "db", "upgrade"]
    assert s["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert s["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert s["worker"]["environment"].items() >= s["app"]["environment"].items()


def test_every_critiquelab_variable_is_a_setting() -> None:
    fields = {f"CRITIQUELAB_{name.upper()}" for name in Settings.model_fields}
    text = (ROOT / "docker-compose.yml").read_text()
    app_env = _compose()["services"]["app"]["environment"]
    assert set(app_env) <= fields, set(app_env) - fields
    assert {
        "CRITIQUELAB_DATABASE_URL",
        "CRITIQUELAB_MODEL_URL",
        "CRITIQUELAB_MODEL_NAME",
        "CRITIQUELAB_SECRET_KEY",
    } <= set(app_env)
    assert app_env["CRITIQUELAB_DATABASE_URL"].startswith("postgresql+psycopg://")
    # Variables that only parameterise compose itself (vLLM's model and sizes) are not settings.
    compose_only = {v for v in re.findall(r"\$\{(CRITIQUELAB_[A-Z_]+)", text) if v not in fields}
    assert compose_only <= {
        "CRITIQUELAB_VLLM_MODEL",
        "CRITIQUELAB_VLLM_MAX_MODEL_LEN",
        "CRITIQUELAB_VLLM_MODELS_DIR",
    }


def test_app_commands_exist_in_the_cli() -> None:
    commands = _cli_commands()
    for name in ("migrate", "app", "worker"):
        service = _compose()["services"].get(name)
        if service is None:
            continue
        command = service["command"]
        assert command[0] == "critiquelab" and command[1] in commands, command


def test_vllm_serves_logprobs_on_a_gpu() -> None:
    vllm = _compose()["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai")
    args = vllm["command"]
    for flag in (
        "--served-model-name",
        "--max-logprobs",
        "--max-model-len",
        "--enable-prefix-caching",
    ):
        assert flag in args
    assert int(args[args.index("--max-logprobs") + 1]) >= 20
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_cpu_profile_runs_the_built_in_model_server() -> None:
    ms = _compose()["services"]["model_server"]
    assert ms["profiles"] == ["cpu"]
    assert ms["command"][:3] == ["python", "-m", "model_server"]


LONG_RUNNING = ("postgres", "app", "worker", "vllm", "model_server")


def test_long_running_services_restart_and_have_healthchecks() -> None:
    services = _compose()["services"]
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check.get("retries", 3) >= 1, name
    assert services["migrate"]["restart"] == "no"


def test_http_healthchecks_hit_the_health_route_on_the_served_port() -> None:
    services = _compose()["services"]
    app_port = services["app"]["command"][services["app"]["command"].index("--port") + 1]
    assert f"127.0.0.1:{app_port}/health" in " ".join(services["app"]["healthcheck"]["test"])
    ms = services["model_server"]
    ms_port = ms["command"][ms["command"].index("--port") + 1]
    assert f"127.0.0.1:{ms_port}/health" in " ".join(ms["healthcheck"]["test"])
    assert "127.0.0.1:8000/health" in " ".join(services["vllm"]["healthcheck"]["test"])


def test_worker_healthcheck_reads_the_heartbeat_file_the_worker_is_told_to_touch() -> None:
    worker = _compose()["services"]["worker"]
    path = worker["environment"]["CRITIQUELAB_WORKER_HEARTBEAT_FILE"]
    assert path in " ".join(worker["healthcheck"]["test"])
    assert "CRITIQUELAB_WORKER_HEARTBEAT_FILE" in {
        f"CRITIQUELAB_{n.upper()}" for n in Settings.model_fields
    }
