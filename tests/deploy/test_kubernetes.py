"""deploy/kubernetes: rendered by kustomize, valid against the Kubernetes schemas in strict mode, and
consistent with the service's settings and measurements."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from service.config import Settings

from .manifests import (
    KUBERNETES,
    SECRET_EXAMPLE,
    SERVICE,
    find,
    kubernetes_container,
    load_yaml,
    render,
    run,
    tool,
)

SETTINGS = {f"LOSS_SERVICE_{name.upper()}" for name in Settings.model_fields}
# The oldest release these manifests are for (the preStop sleep action is on by default from 1.30),
# and the newest whose schemas kubernetes-validate carries.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
KUSTOMIZATIONS = ["base", "production"]
MiB = 2**20


@cache
def rendered(kustomization: str) -> list[dict[str, Any]]:
    return render(kustomization)


def deployment(kustomization: str = "base") -> dict[str, Any]:
    return find(rendered(kustomization), "Deployment", SERVICE)


def container(kustomization: str = "base") -> dict[str, Any]:
    (result,) = deployment(kustomization)["spec"]["template"]["spec"]["containers"]
    return result


def environment(kustomization: str = "base") -> dict[str, str]:
    return kubernetes_container(rendered(kustomization)).environment


def quantity(value: str) -> float:
    """A Kubernetes quantity (``1Gi``, ``500m``, ``2``) as a number (bytes or cores)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 0.001, "": 1}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|m|)", str(value))
    assert match, value
    return float(match.group(1)) * units[match.group(2)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_rendered_manifests_validate_strictly(kustomization, version, tmp_path):
    resources = rendered(kustomization)
    path = tmp_path / f"{kustomization}.yaml"
    path.write_text(yaml.safe_dump_all(resources, sort_keys=False))
    validate = tool("kubernetes-validate", "the test extra")
    result = run(validate, "--strict", "--kubernetes-version", version, str(path), str(SECRET_EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
    # Every resource was checked against a schema (an unknown kind is only a warning).
    assert "WARN" not in result.stdout + result.stderr, result.stdout + result.stderr
    passed = set(re.findall(r"passed for resource (\S+) against", result.stdout))
    names = {f"{r['kind'].lower()}/{r['metadata']['name']}" for r in resources}
    assert passed == names | {"secret/loss-service"}


def test_strict_validation_is_not_vacuous(tmp_path):
    """A misspelt field fails the same check."""
    text = yaml.safe_dump_all(rendered("base"), sort_keys=False)
    assert "readOnlyRootFilesystem: true" in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"))
    result = run(tool("kubernetes-validate", "the test extra"), "--strict", "-k", "1.30.0", str(path))
    assert result.returncode == 1 and "readOnlyRootFileSystem" in result.stdout


def test_the_base_has_every_part():
    resources = rendered("base")
    kinds = {r["kind"] for r in resources}
    expected = {"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"}
    assert len(kinds) == len(resources) and kinds == expected | {"ServiceAccount"}
    assert not any(r["kind"] == "Secret" for r in resources), "secrets are not in the kustomization"
    assert deployment()["spec"]["replicas"] == 2


def test_selectors_and_references_meet():
    resources = rendered("base")
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    selector = deployment()["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert find(resources, "Service")["spec"]["selector"].items() <= labels.items()
    assert find(resources, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = find(resources, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", SERVICE)
    port = container()["ports"][0]
    service_port = find(resources, "Service")["spec"]["ports"][0]
    assert service_port["targetPort"] == port["name"] == "http"
    assert str(port["containerPort"]) == environment()["LOSS_SERVICE_PORT"]
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == find(resources, "ServiceAccount")["metadata"]["name"]
    # The ConfigMap's generated (hashed) name is the one the container reads.
    (source,) = container()["envFrom"]
    assert find(resources, "ConfigMap")["metadata"]["name"] == source["configMapRef"]["name"]
    assert re.fullmatch(r"loss-service-settings-[a-z0-9]{10}", source["configMapRef"]["name"])


def test_every_variable_is_a_setting_and_every_setting_is_set():
    resolved = kubernetes_container(rendered("base"))
    assert resolved.explicit <= SETTINGS, resolved.explicit - SETTINGS
    assert resolved.explicit >= SETTINGS, f"settings not in the manifests: {SETTINGS - resolved.explicit}"
    values = {
        key.removeprefix("LOSS_SERVICE_").lower(): value
        for key, value in resolved.environment.items()
        if key in SETTINGS
    }
    settings = Settings(**values)
    assert settings.database_url.startswith("postgresql+psycopg://") and settings.api_keys
    # Secrets come from the Secret, never from the ConfigMap.
    secrets = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container()["env"]}
    assert set(secrets) == {"LOSS_SERVICE_API_KEYS", "LOSS_SERVICE_DATABASE_URL"}
    for reference in secrets.values():
        assert reference["name"] == SERVICE and not reference.get("optional")
    assert set(load_yaml(SECRET_EXAMPLE)["stringData"]) == {ref["key"] for ref in secrets.values()}
    # No Docker-link variables (LOSS_SERVICE_PORT=tcp://...) from the Service named loss-service.
    assert deployment()["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_probes():
    probes = container()
    assert probes["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert probes["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert probes["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Liveness never restarts a pod for a slow moment: it tolerates more than readiness does.
    liveness, readiness = probes["livenessProbe"], probes["readinessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > (
        readiness["periodSeconds"] * readiness["failureThreshold"]
    )


def test_termination_is_consistent_with_the_drain():
    """preStop, then SIGTERM: /readyz answers 503 for the drain while requests are still served, then
    in-flight requests get the graceful timeout; the pod's grace period covers all of it."""
    pod = deployment()["spec"]["template"]["spec"]
    pre_stop = container()["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = float(environment()["LOSS_SERVICE_SHUTDOWN_DRAIN_SECONDS"])
    graceful = float(environment()["LOSS_SERVICE_TIMEOUT_GRACEFUL_SHUTDOWN"])
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + drain + graceful + 2
    readiness = container()["readinessProbe"]
    assert drain >= readiness["periodSeconds"] * readiness["failureThreshold"]


def test_security_context():
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    context = container()["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    # The read-only root needs a writable /tmp, and nothing else (the history is in PostgreSQL).
    assert [m["mountPath"] for m in container()["volumeMounts"]] == ["/tmp"]


def test_resources_hold_the_measured_memory():
    """Sized from the README's measurements: ~100 MiB idle per worker, ~780 MiB peak for one request
    at the default limits, kept by glibc afterwards. The request holds one such request per worker,
    the limit two."""
    resources = container()["resources"]
    workers = int(environment()["LOSS_SERVICE_WORKERS"])
    idle, peak = 100 * MiB, 780 * MiB
    assert quantity(resources["requests"]["memory"]) >= workers * peak
    assert quantity(resources["limits"]["memory"]) >= workers * (idle + 2 * (peak - idle))
    assert quantity(resources["requests"]["cpu"]) >= workers  # one core per worker: the HPA's basis
    assert quantity(resources["limits"]["cpu"]) >= quantity(resources["requests"]["cpu"])
    assert environment()["LOSS_SERVICE_MAX_ELEMENTS"] == "4000000"  # the limit the figures are for
    assert environment()["LOSS_SERVICE_MAX_BODY_BYTES"] == str(64 * MiB)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_autoscaler_and_database_connections(kustomization):
    resources = rendered(kustomization)
    autoscaler = find(resources, "HorizontalPodAutoscaler")["spec"]
    assert autoscaler["minReplicas"] == deployment(kustomization)["spec"]["replicas"]
    (metric,) = autoscaler["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    # Every pod the autoscaler may run, at full pool and overflow (2 × pool), under PostgreSQL's default
    # max_connections of 100 less its 3 superuser connections.
    env = environment(kustomization)
    per_pod = int(env["LOSS_SERVICE_WORKERS"]) * 3 * int(env["LOSS_SERVICE_DATABASE_POOL_SIZE"])
    assert autoscaler["maxReplicas"] * per_pod <= 97


def test_disruption_budget_keeps_ready_replicas_and_lets_unready_ones_go():
    budget = find(rendered("base"), "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert deployment()["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_prometheus_annotations():
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == environment()["LOSS_SERVICE_PORT"]


def test_the_overlay_changes_replicas_and_image_only():
    base, production = rendered("base"), rendered("production")
    assert deployment("production")["spec"]["replicas"] == 3
    assert container("base")["image"] == "loss-service:0.1.0"
    image = container("production")["image"]
    overlay = load_yaml(KUBERNETES / "overlays" / "production" / "kustomization.yaml")
    (override,) = overlay["images"]
    assert image == f"{override['newName']}:{override['newTag']}" and image != container("base")["image"]
    assert all(r["metadata"].get("namespace") == overlay["namespace"] for r in production)

    def without_overrides(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        copies = list(yaml.safe_load_all(yaml.safe_dump_all(resources)))
        for resource in copies:
            resource["metadata"].pop("namespace", None)
            if resource["kind"] == "Deployment":
                resource["spec"].pop("replicas")
                resource["spec"]["template"]["spec"]["containers"][0].pop("image")
            if resource["kind"] == "HorizontalPodAutoscaler":
                resource["spec"].pop("minReplicas")
        return copies

    assert without_overrides(base) == without_overrides(production)
