"""The deployment files under deploy/, read the way their tools read them.

Compose services and the rendered Kubernetes Deployment give a container's command and environment;
the helpers here resolve that environment exactly as the container would see it (the image's ``ENV``,
then env files or ConfigMaps, then explicit variables), taking secrets from the committed examples.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..environment import require

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_SQLITE = DEPLOY / "compose.sqlite.yaml"
KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATIONS = {"base": KUBERNETES / "base", "production": KUBERNETES / "overlays" / "production"}
SECRET_EXAMPLE = KUBERNETES / "secret.example.yaml"
SERVICE = "loss-service"  # the compose service, and the Kubernetes Deployment and container
BIN = Path(sys.executable).parent


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def tool(name: str, installed_by: str) -> str:
    """The path of a command-line tool: this environment's scripts first, then PATH."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        require(f"{name} is not installed ({installed_by})")
    return found


def run(*command: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def seconds(duration: str) -> float:
    """A Compose duration (``40s``, ``1m30s``) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (Compose's env files and kustomize's ``envs``): no quoting, # comments."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        assert separator and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path}:{number}: not KEY=VALUE"
        assert not value.startswith(("'", '"')), f"{path}:{number}: quotes are read differently by tools"
        values[key] = value
    return values


def image_environment() -> dict[str, str]:
    """The ``ENV`` of the Dockerfile's final stage, without PATH (where the image's venv is)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final_stage = text[text.rindex("\nFROM ") :]
    values: dict[str, str] = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                key, _, value = item.partition("=")
                values[key] = value
    values.pop("PATH", None)
    return values


def image_command() -> list[str]:
    (command,) = re.findall(r"^CMD\s+(\[.*\])$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    return list(yaml.safe_load(command))


@dataclass
class Container:
    """What a deployment runs: its command and the environment it sees."""

    command: list[str]
    environment: dict[str, str]
    explicit: set[str]  # variable names the deployment itself sets (not the image)


def compose_container(path: Path = COMPOSE, service: str = SERVICE) -> Container:
    spec = load_yaml(path)["services"][service]
    environment = image_environment()
    explicit: set[str] = set()
    for name in spec.get("env_file", []):
        example = path.parent / f"{name}.example"
        values = env_file(example)
        environment.update(values)
        explicit.update(values)
    for key, value in (spec.get("environment") or {}).items():
        environment[key] = "" if value is None else str(value)
        explicit.add(key)
    return Container(list(spec.get("command") or image_command()), environment, explicit)


def kustomize_version() -> tuple[int, ...]:
    kubectl = tool("kubectl", "kubectl 1.27+ (kustomize v5) comes with this machine image")
    output = run(kubectl, "version", "--client").stdout
    match = re.search(r"Kustomize Version: v(\d+)\.(\d+)", output)
    assert match, output
    return tuple(int(part) for part in match.groups())


def render(kustomization: str) -> list[dict[str, Any]]:
    """``kubectl kustomize`` of a kustomization directory: its resources."""
    if kustomize_version() < (5, 0):
        require(f"kubectl's kustomize is v{'.'.join(map(str, kustomize_version()))}; these need v5+")
    kubectl = tool("kubectl", "kubectl 1.27+ (kustomize v5) comes with this machine image")
    result = run(kubectl, "kustomize", str(KUSTOMIZATIONS[kustomization]))
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def rendered_text(kustomization: str) -> str:
    return yaml.safe_dump_all(render(kustomization), sort_keys=False)


def find(resources: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [r for r in resources if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{len(matches)} {kind} {name or ''}"
    return matches[0]


def kubernetes_container(resources: list[dict[str, Any]]) -> Container:
    """The service container of the rendered Deployment, its ConfigMap and Secret references resolved
    (the Secret from secret.example.yaml)."""
    pod = find(resources, "Deployment", SERVICE)["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == SERVICE]
    secret = load_yaml(SECRET_EXAMPLE)
    environment = image_environment()
    explicit: set[str] = set()
    for source in container.get("envFrom", []):
        config_map = find(resources, "ConfigMap", source["configMapRef"]["name"])
        environment.update(config_map["data"])
        explicit.update(config_map["data"])
    for variable in container.get("env", []):
        if "value" in variable:
            value = variable["value"]
        else:
            reference = variable["valueFrom"]["secretKeyRef"]
            assert reference["name"] == secret["metadata"]["name"]
            value = secret["stringData"][reference["key"]]
        environment[variable["name"]] = value
        explicit.add(variable["name"])
    command = list(container.get("command") or image_command()) + list(container.get("args", []))
    return Container(command, environment, explicit)
