"""Kubernetes manifests in deploy/k8s: schema-valid (strict), and wired together correctly.

Offline: kubernetes-validate ships the OpenAPI-derived JSON schemas of each release; the
strict variants reject unknown fields (a misspelt key would otherwise be dropped by the
API server without a word).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.version import Version

from rlvr_gym.server.config import load_config

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
MANIFESTS = ("configmap.yaml", "deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml")
# 1.30: the oldest release with native sidecars and the preStop sleep action on by default
# (or the oldest schema this kubernetes-validate still ships, if it dropped 1.30), and the
# newest one.
_SHIPPED = sorted(Version(v) for v in kubernetes_validate.utils.all_versions())
VERSIONS = (
    "1.30" if _SHIPPED[0] <= Version("1.30.0") else str(_SHIPPED[0]),
    str(_SHIPPED[-1]),
)


def load(name: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]
    assert len(docs) == 1, f"{name}: one resource per file"
    doc: dict[str, Any] = docs[0]
    return doc


@pytest.fixture(scope="module")
def kinds() -> dict[str, dict[str, Any]]:
    return {load(name)["kind"]: load(name) for name in MANIFESTS}


@pytest.fixture(scope="module")
def pod(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = kinds["Deployment"]["spec"]["template"]["spec"]
    return spec


def service_container(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod["containers"] if c["name"] == "rlvr-gym"]
    return container


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_validates_strictly(name: str, version: str) -> None:
    doc = load(name)
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        pytest.fail(f"{name} against Kubernetes {version}: {path}: {exc.message}")


def test_strict_validation_rejects_unknown_fields() -> None:
    doc = load("deployment.yaml")
    doc["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(MANIFESTS)
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == set(MANIFESTS)


def test_service_is_headless_and_targets_the_pods(kinds: dict[str, dict[str, Any]]) -> None:
    service, deployment = kinds["Service"], kinds["Deployment"]
    assert service["spec"]["clusterIP"] == "None"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {
        p["name"]: p for p in service_container(deployment["spec"]["template"]["spec"])["ports"]
    }
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports
        assert port["port"] == ports[port["targetPort"]]["containerPort"]
    grpc = next(p for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert grpc["port"] == 50051


def test_probes_use_grpc_on_the_container_port(pod: dict[str, Any]) -> None:
    container = service_container(pod)
    grpc_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
    assert grpc_port == 50051
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert set(container[probe]) - {
            "periodSeconds",
            "timeoutSeconds",
            "failureThreshold",
            "initialDelaySeconds",
            "successThreshold",
        } == {"grpc"}, probe
        assert container[probe]["grpc"]["port"] == grpc_port, probe
    assert container["readinessProbe"]["grpc"]["service"] == "rlvr_gym.proto.v1.RewardService"


def test_every_container_has_requests_and_limits(pod: dict[str, Any]) -> None:
    for container in pod["containers"] + pod.get("initContainers", []):
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= resources[kind].keys(), (container["name"], kind)


def test_non_privileged_containers_are_locked_down(pod: dict[str, Any]) -> None:
    for container in pod["containers"] + pod["initContainers"]:
        context = container["securityContext"]
        if container["name"] == "dind":
            assert context["privileged"] is True
            assert container["restartPolicy"] == "Always"  # native sidecar
            continue
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == 10002  # rlvr_gym.server.image.SERVICE_UID
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]


def test_sandbox_engine_socket_is_shared_with_the_service(pod: dict[str, Any]) -> None:
    dind = next(c for c in pod["initContainers"] if c["name"] == "dind")
    assert "--host=unix:///var/run/dind/docker.sock" in dind["args"]
    assert "--group=10002" in dind["args"]
    env = {e["name"]: e.get("value") for e in service_container(pod)["env"]}
    assert env["DOCKER_HOST"] == "unix:///var/run/dind/docker.sock"
    mounts = {m["name"]: m["mountPath"] for m in service_container(pod)["volumeMounts"]}
    assert mounts["dind-socket"] == "/var/run/dind"


def test_pdb_and_hpa_select_the_deployment(kinds: dict[str, dict[str, Any]]) -> None:
    deployment = kinds["Deployment"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": deployment["apiVersion"],
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["minReplicas"] >= 2  # so the PDB's maxUnavailable: 1 leaves one serving
    assert "replicas" not in deployment["spec"]  # owned by the HPA


def test_configmap_is_a_valid_server_config_mounted_where_serve_reads_it(
    kinds: dict[str, dict[str, Any]], pod: dict[str, Any], tmp_path: Path
) -> None:
    configmap = kinds["ConfigMap"]
    path = tmp_path / "server.toml"
    path.write_text(configmap["data"]["server.toml"], encoding="utf-8")
    config = load_config(path)
    assert config.address.endswith(":50051")
    assert config.metrics_address.endswith(":9464")
    assert config.sandbox_backend == "docker"
    container = service_container(pod)
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    volume = next(v for v in pod["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert container["command"][-1] == f"{mount['mountPath']}/server.toml"
    # Graceful shutdown fits: preStop sleep + in-flight grace + cleanup < SIGKILL.
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + config.shutdown_grace_s + 10
