"""The Kubernetes manifests (deploy/k8s), checked without a cluster.

Both overlays are rendered with `kubectl kustomize` (Debian's kubernetes-client when kubectl is missing; under
BANCHENG_REQUIRE_K8S_TOOLS a missing or too old kubectl fails instead of skipping), every document is validated
against the Kubernetes schemas of `kubernetes-validate` (strict: an unknown field is an error) and the KafkaTopics
against Strimzi's CRD schema vendored in deploy/k8s/schemas. Then what a cluster would not catch: probes, ports
and env names against the apps and their settings classes, a PDB and resources for every Deployment, the
topic list against bancheng_shared.topics, the pooler and the advisory-lock routing, the network paths.
"""

from __future__ import annotations

import asyncio
import configparser
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml

from bancheng_shared.migrate import upgrade
from bancheng_shared.topics import DEFAULT_PARTITIONS, EPOCH_TOPIC, all_broker_topics, dlq_name

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("trial", "city")
SERVICES = {"intake": 8001, "triage": 8002, "sla": 8003, "oversight": 8004}
APPS = {**SERVICES, "console": 8005}
SETTINGS = {
    "intake": "intake_svc.settings:IntakeSettings",
    "triage": "triage_svc.settings:TriageSettings",
    "sla": "sla_svc.settings:SlaSettings",
    "oversight": "oversight_svc.settings:OversightSettings",
    "console": "bancheng_console.settings:ConsoleSettings",
}
PREFIXES = {name.upper() + "_": name for name in APPS}
# the oldest Kubernetes the manifests are meant for (topologySpreadConstraints.matchLabelKeys) and the newest known
K8S_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
STRIMZI_CRD = K8S / "schemas" / "strimzi" / "043-Crd-kafkatopic.yaml"
MIN_PGBOUNCER = (1, 21)  # max_prepared_statements: asyncpg's prepared statements in transaction mode

Doc = dict[str, Any]


# ------------------------------------------------------------------------------------------ tools
def kubectl_or_skip() -> str:
    """kubectl with kustomize v5: installed from Debian when missing and running as root, else a skip (a failure
    under BANCHENG_REQUIRE_K8S_TOOLS, as in CI)."""
    path = shutil.which("kubectl")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        install = ["apt-get", "install", "-y", "--no-install-recommends", "kubernetes-client"]
        if subprocess.run(install, check=False, capture_output=True, timeout=900).returncode != 0:
            subprocess.run(["apt-get", "update"], check=False, capture_output=True, timeout=600)
            subprocess.run(install, check=False, capture_output=True, timeout=900)
        path = shutil.which("kubectl")
    if path is None:
        reason = "no kubectl: install Debian's kubernetes-client (`apt-get install kubernetes-client`)"
    else:
        out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
        found = json.loads(out.stdout or "{}").get("kustomizeVersion", "") if out.returncode == 0 else ""
        m = re.match(r"v(\d+)\.", found)
        if m and int(m.group(1)) >= 5:
            return path
        reason = (f"{path} has kustomize {found or 'older than v4'}; deploy/k8s needs kustomize v5 "
                  "(kubectl >= 1.27)")
    if os.environ.get("BANCHENG_REQUIRE_K8S_TOOLS"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Doc]]:
    """Each overlay rendered from a copy of deploy/k8s whose secrets.env files are the committed examples."""
    kubectl = kubectl_or_skip()
    out: dict[str, list[Doc]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "k8s"
        shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("secrets.env"))
        for overlay in OVERLAYS:
            d = tree / "overlays" / overlay
            shutil.copy(d / "secrets.env.example", d / "secrets.env")
            run = subprocess.run([kubectl, "kustomize", str(d)], capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, f"kubectl kustomize {overlay}: {run.stderr}"
            out[overlay] = [doc for doc in yaml.safe_load_all(run.stdout) if doc]
    return out


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    """The documents of one kind."""
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    """The one document of a kind with a name."""
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def app_of(image: str) -> str | None:
    """The Bancheng app an image is (bancheng/<app>[:tag]), else None."""
    m = re.fullmatch(r"bancheng/(\w+)(?::.*)?", image)
    return m.group(1) if m and m.group(1) in APPS else None


def workloads(docs: list[Doc]) -> list[Doc]:
    """Deployments and Jobs."""
    return [d for d in docs if d["kind"] in ("Deployment", "Job")]


def pod_spec(workload: Doc) -> Doc:
    """The pod template's spec."""
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Doc) -> list[Doc]:
    """Init containers and containers of a workload."""
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: Doc, docs: list[Doc]) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom ConfigMaps, then env (secrets as `secret:<key>`)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(named(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        env[item["name"]] = f"secret:{ref['key']}" if ref else item.get("value", "")
    return env


def settings_fields(app: str) -> tuple[str, set[str]]:
    """The env prefix and the field names (upper case) of an app's settings class."""
    module, cls = SETTINGS[app].split(":")
    settings_cls = getattr(importlib.import_module(module), cls)
    return settings_cls.model_config["env_prefix"], {f.upper() for f in settings_cls.model_fields}


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions with In/NotIn/Exists) matches the labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        value = labels.get(e["key"])
        ok = {"In": value in e.get("values", []), "NotIn": value not in e.get("values", []),
              "Exists": value is not None, "DoesNotExist": value is None}[e["operator"]]
        if not ok:
            return False
    return True


def pod_labels(workload: Doc) -> dict[str, str]:
    """The labels of a workload's pods."""
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


# ------------------------------------------------------------------------------------------ schemas
def strict_crd_schema() -> Doc:
    """The KafkaTopic v1 schema from the vendored CRD, with unknown fields refused where the CRD does not keep them
    (the API server prunes them silently: a misspelt field would just vanish)."""
    crd = yaml.safe_load(STRIMZI_CRD.read_text("utf-8"))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1" and v["served"])
    schema: Doc = version["schema"]["openAPIV3Schema"]

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_document_is_valid(rendered: dict[str, list[Doc]], overlay: str) -> None:
    topic_schema = strict_crd_schema()
    errors: list[str] = []
    for doc in rendered[overlay]:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] == "KafkaTopic":
            assert doc["apiVersion"] == "kafka.strimzi.io/v1", where
            errors += [f"{where}: {e.message} at {list(e.path)}"
                       for e in jsonschema.Draft7Validator(topic_schema).iter_errors(doc)]
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                errors.append(f"{where} (Kubernetes {version}): {e.message} at {list(e.path)}")
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{where}: no schema in Kubernetes {version}")
    assert not errors, "\n".join(errors)
    kinds = {d["kind"] for d in rendered[overlay]}
    assert {"Namespace", "Deployment", "Service", "PodDisruptionBudget", "Job", "Secret", "ConfigMap",
            "NetworkPolicy", "KafkaTopic"} <= kinds


# ------------------------------------------------------------------------------------------ workloads
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_pdb_resources_and_runs_locked_down(rendered: dict[str, list[Doc]],
                                                                   overlay: str) -> None:
    docs = rendered[overlay]
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for w in workloads(docs):
        name = w["metadata"]["name"]
        if w["kind"] == "Deployment":
            covering = [p for p in pdbs if selects(p["spec"]["selector"], pod_labels(w))]
            assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"
            assert selects(w["spec"]["selector"], pod_labels(w))
        spec = pod_spec(w)
        assert spec["automountServiceAccountToken"] is False, name
        pod_sec = spec["securityContext"]
        assert pod_sec["runAsNonRoot"] is True and pod_sec["runAsUser"] == 10001, name
        assert pod_sec["seccompProfile"]["type"] == "RuntimeDefault", name
        for c in containers(w):
            where = f"{name}/{c['name']}"
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][part]), f"{where}: resources.{part}"
            sec = c["securityContext"]
            assert sec["allowPrivilegeEscalation"] is False, where
            assert sec["readOnlyRootFilesystem"] is True, where
            assert sec["capabilities"]["drop"] == ["ALL"], where
            # with a read-only root, Python's temporary files need a writable /tmp
            if app_of(c["image"]):
                assert "/tmp" in {m["mountPath"] for m in c.get("volumeMounts", [])}, where


def _route_answers(app: str, path: str) -> int:
    """The status an app answers on a path (its lifespan is not run: no broker, no background loops)."""
    async def get(asgi: Any) -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://k8s.test") as client:
            return (await client.get(path)).status_code

    if app == "console":
        from bancheng_console.main import create_app as create_console

        return asyncio.run(get(create_console()))
    module, cls = SETTINGS[app].split(":")
    settings_cls = getattr(importlib.import_module(module), cls)
    extra = {"pii_ephemeral_key_allowed": True} if app == "intake" else {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_cls(database_url=f"sqlite+aiosqlite:///{tmp}/{app}.db", **extra)
        return asyncio.run(get(importlib.import_module(f"{app}_svc.main").create_app(settings)))


@pytest.fixture(scope="module")
def app_routes() -> dict[tuple[str, str], int]:
    """What each app answers on /healthz and /readyz."""
    return {(app, path): _route_answers(app, path) for app in APPS for path in ("/healthz", "/readyz")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_ports_match_the_apps(rendered: dict[str, list[Doc]], overlay: str,
                                         app_routes: dict[tuple[str, str], int]) -> None:
    docs = rendered[overlay]
    seen: set[tuple[str, str]] = set()
    for w in of_kind(docs, "Deployment"):
        for c in pod_spec(w)["containers"]:
            app = app_of(c["image"])
            if app is None:
                continue
            component = pod_labels(w)["app.kubernetes.io/component"]
            seen.add((app, component))
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            assert ports == {"http": APPS[app]}, w["metadata"]["name"]
            env = env_of(c, docs)
            prefix = app.upper() + "_"
            assert int(env[f"{prefix}PORT"]) == APPS[app] and env[f"{prefix}HOST"] == "0.0.0.0"
            # a relay on standby does not talk to the broker, so its /readyz is 503: it is probed on /healthz
            ready = "/healthz" if component == "relay" else "/readyz"
            assert c["readinessProbe"]["httpGet"] == {"path": ready, "port": "http"}, w["metadata"]["name"]
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, w["metadata"]["name"]
    assert seen == {*((s, "api") for s in SERVICES), *((s, "relay") for s in SERVICES), ("console", "web")}
    for (app, path), status in app_routes.items():
        # /readyz is 503 here (no broker reached yet), which still proves the route is the app's
        assert status == 200 if path == "/healthz" else status in (200, 503), f"{app} {path}: {status}"
    for app, port in APPS.items():
        module, cls = SETTINGS[app].split(":")
        assert getattr(importlib.import_module(module), cls)().port == port, f"{app}'s default port"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_route_to_their_pods(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    deployments = of_kind(docs, "Deployment")
    for svc in of_kind(docs, "Service"):
        name = svc["metadata"]["name"]
        if svc["spec"].get("type") == "ExternalName":
            assert name == "postgres"
            continue
        targets = [d for d in deployments if selects({"matchLabels": svc["spec"]["selector"]}, pod_labels(d))]
        assert [t["metadata"]["name"] for t in targets] == [name], f"Service {name} selects {targets}"
        port_names = {p["name"]: p["containerPort"] for c in pod_spec(targets[0])["containers"] for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port_names[port["targetPort"]] == port["port"], name
        if name in APPS:
            assert [p["port"] for p in svc["spec"]["ports"]] == [APPS[name]]
    console_env = env_of(pod_spec(named(docs, "Deployment", "console"))["containers"][0], docs)
    for svc_name, port in SERVICES.items():
        assert console_env[f"CONSOLE_{svc_name.upper()}_URL"] == f"http://{svc_name}:{port}"
        named(docs, "Service", svc_name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_prefixed_env_is_a_real_setting(rendered: dict[str, list[Doc]], overlay: str) -> None:
    """A misspelt setting is ignored without a word by pydantic-settings: each must be a field of its class."""
    docs = rendered[overlay]
    secret_keys = set(named_secret(docs)["data"])
    for w in workloads(docs):
        for c in containers(w):
            app = app_of(c["image"])
            where = f"{w['metadata']['name']}/{c['name']}"
            env = env_of(c, docs)
            for item in c.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == named_secret(docs)["metadata"]["name"] and ref["key"] in secret_keys, where
                # $(VAR) is expanded by the kubelet only from variables defined before it
                names_before = [i["name"] for i in c["env"][: c["env"].index(item)]]
                for var in re.findall(r"\$\((\w+)\)", item.get("value", "")):
                    assert var in names_before, f"{where}: {item['name']} uses $({var}) before it is defined"
            if app is None:
                continue
            prefix, fields = settings_fields(app)
            for key in env:
                owner = next((a for p, a in PREFIXES.items() if key.startswith(p)), None)
                if owner is None:
                    continue
                assert owner == app, f"{where}: {key} is another app's setting"
                assert key[len(prefix):] in fields, f"{where}: {key} is not a setting of {SETTINGS[app]}"


def named_secret(docs: list[Doc]) -> Doc:
    """The one generated Secret."""
    secrets = of_kind(docs, "Secret")
    assert len(secrets) == 1 and secrets[0]["metadata"]["name"].startswith("bancheng-secrets")
    return secrets[0]


# ------------------------------------------------------------------------------------------ database
def _db_url(container: Doc, docs: list[Doc], app: str) -> re.Match[str]:
    url = env_of(container, docs)[f"{app.upper()}_DATABASE_URL"]
    m = re.fullmatch(r"postgresql\+asyncpg://(?P<user>\w+):\$\(DB_PASSWORD\)@(?P<host>[\w.-]+):(?P<port>\d+)/"
                     r"(?P<db>\w+)", url)
    assert m, url
    assert m["user"] == app and m["db"] == app
    password = next(i for i in container["env"] if i["name"] == "DB_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"]["key"] == f"{app}-db-password"
    return m


def pgbouncer_ini(docs: list[Doc]) -> tuple[configparser.ConfigParser, dict[str, str]]:
    """PgBouncer's main file and its pool sizes, as rendered."""
    data = next(c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("pgbouncer-config"))["data"]
    ini = configparser.ConfigParser(allow_no_value=True, interpolation=None, comment_prefixes=(";", "#"))
    ini.read_string(data["pgbouncer.ini"])
    sizes = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
    sizes.read_string("[pool]\n" + data["pool-size.ini"])
    return ini, dict(sizes["pool"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_through_pgbouncer_relay_and_migrations_direct(rendered: dict[str, list[Doc]], overlay: str) -> None:
    """Transaction pooling for the api pods; the relay's session-level advisory lock and Alembic's DDL go straight
    to PostgreSQL (deploy/README.md, "Kubernetes")."""
    docs = rendered[overlay]
    ini, _sizes = pgbouncer_ini(docs)
    pooler = named(docs, "Service", "pgbouncer")["spec"]["ports"][0]["port"]
    for app in SERVICES:
        api, relay = named(docs, "Deployment", app), named(docs, "Deployment", f"{app}-relay")
        for c in containers(api):
            m = _db_url(c, docs, app)
            assert (m["host"], int(m["port"])) == ("pgbouncer", pooler), f"{app}/{c['name']}"
        for c in containers(relay):
            m = _db_url(c, docs, app)
            assert (m["host"], int(m["port"])) == ("postgres", 5432), f"{app}-relay/{c['name']}"
        api_env = env_of(pod_spec(api)["containers"][0], docs)
        relay_env = env_of(pod_spec(relay)["containers"][0], docs)
        p = app.upper() + "_"
        assert api_env[f"{p}RELAY_ENABLED"] == "false"
        assert relay_env[f"{p}RELAY_ENABLED"] == "true" and relay_env[f"{p}CONSUMERS_ENABLED"] == "false"
        job = named(docs, "Job", f"{app}-migrate")
        (mig,) = pod_spec(job)["containers"]
        assert mig["command"] == ["python", "-m", f"{app}_svc", "migrate"]
        assert mig["image"] == pod_spec(api)["containers"][0]["image"] == pod_spec(relay)["containers"][0]["image"]
        assert _db_url(mig, docs, app)["host"] == "postgres"
        assert pod_spec(job)["restartPolicy"] == "Never"
        # the pods wait for the Job's migrations instead of racing it
        for w in (api, relay):
            (wait,) = pod_spec(w)["initContainers"]
            assert wait["image"] == mig["image"]
            assert wait["command"][:3] == ["python", "/opt/bancheng/wait_for_migrations.py", app]
            mount = next(m for m in wait["volumeMounts"] if m["mountPath"] == "/opt/bancheng")
            volume = next(v for v in pod_spec(w)["volumes"] if v["name"] == mount["name"])
            scripts = named(docs, "ConfigMap", volume["configMap"]["name"])["data"]
            assert scripts["wait_for_migrations.py"] == (K8S / "base" / "config" / "wait_for_migrations.py").read_text()
        # the pooler knows the database under the same name
        assert re.fullmatch(rf"host=postgres port=5432 dbname={app}", ini["databases"][app])
    assert set(ini["databases"]) == set(SERVICES)
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    assert int(ini["pgbouncer"]["max_prepared_statements"]) > 0, "asyncpg prepares every statement"
    assert int(ini["pgbouncer"]["listen_port"]) == pooler
    image = next(c["image"] for c in pod_spec(named(docs, "Deployment", "pgbouncer"))["containers"])
    version = re.search(r":v?(\d+)\.(\d+)", image)
    assert version and (int(version[1]), int(version[2])) >= MIN_PGBOUNCER, f"{image}: PgBouncer >= 1.21 is needed"


# PostgreSQL max_connections deploy/README.md asks for per overlay
MAX_CONNECTIONS = {"trial": 150, "city": 400}
SQLALCHEMY_POOL = 10 + 10  # bancheng_shared.db.make_engine on PostgreSQL: pool_size + max_overflow per process


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_connections_fit_postgres(rendered: dict[str, list[Doc]], overlay: str) -> None:
    """Worst case: every PgBouncer at max_db_connections, every relay pod's engine full (it connects directly),
    a migrate Job per service and ten for the operators, under the max_connections the README gives."""
    docs = rendered[overlay]
    _ini, sizes = pgbouncer_ini(docs)
    assert int(sizes["default_pool_size"]) + int(sizes["reserve_pool_size"]) <= int(sizes["max_db_connections"])
    poolers = named(docs, "Deployment", "pgbouncer")["spec"]["replicas"]
    relays = sum(named(docs, "Deployment", f"{app}-relay")["spec"]["replicas"] for app in SERVICES)
    total = poolers * len(SERVICES) * int(sizes["max_db_connections"]) + relays * SQLALCHEMY_POOL + len(SERVICES) + 10
    assert total <= MAX_CONNECTIONS[overlay], f"{overlay}: up to {total} connections"
    readme = (ROOT / "deploy" / "README.md").read_text("utf-8")
    assert f"max_connections = {MAX_CONNECTIONS[overlay]}" in readme


def test_wait_for_migrations_script_waits_for_the_head(tmp_path: Path) -> None:
    """The initContainers' script: refuses an unmigrated database (after its timeout), passes a migrated one."""
    script = K8S / "base" / "config" / "wait_for_migrations.py"
    url = f"sqlite+aiosqlite:///{tmp_path}/triage.db"
    env = {**os.environ, "TRIAGE_DATABASE_URL": url}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), "triage", "0"], env=env, capture_output=True,
                              text=True, timeout=120)

    before = run()
    assert before.returncode == 1 and "gave up waiting" in before.stdout, before.stdout + before.stderr
    upgrade("triage_svc:migrations", url)
    after = run()
    assert after.returncode == 0 and "database at" in after.stdout, after.stdout + after.stderr


# ------------------------------------------------------------------------------------------ Kafka
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topics_match_the_shared_list(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    topics = {t["metadata"]["name"]: t for t in of_kind(docs, "KafkaTopic")}
    assert sorted(topics) == sorted(all_broker_topics())
    assert all("topicName" not in t["spec"] for t in topics.values()), "the resource name is the topic name"
    clusters = {t["metadata"]["labels"]["strimzi.io/cluster"] for t in topics.values()}
    assert len(clusters) == 1
    replicas = {"trial": 1, "city": 3}[overlay]
    for name, t in topics.items():
        spec = t["spec"]
        assert spec["partitions"] == DEFAULT_PARTITIONS, name
        assert spec["replicas"] == replicas, name
        if replicas > 1:
            assert 1 < int(spec["config"]["min.insync.replicas"]) < replicas, name
    epoch = topics[EPOCH_TOPIC]["spec"]["config"]
    assert int(epoch["retention.ms"]) == -1 and int(epoch["retention.bytes"]) == -1, "the epoch must never expire"
    for name in topics:
        if name.endswith(".dlq"):
            assert int(topics[name]["spec"]["config"]["retention.ms"]) == 30 * 24 * 3600 * 1000
            assert dlq_name(name.removesuffix(".dlq")) == name
    # the services reach that cluster and agree on the partition count
    (cluster,) = clusters
    for w in workloads(docs):
        for c in containers(w):
            app = app_of(c["image"])
            if app in SERVICES:
                env = env_of(c, docs)
                p = app.upper() + "_"
                if f"{p}KAFKA_BOOTSTRAP" in env:
                    assert env[f"{p}KAFKA_BOOTSTRAP"] == f"{cluster}-kafka-bootstrap:9092"
                    assert int(env[f"{p}TOPIC_PARTITIONS"]) == DEFAULT_PARTITIONS


# ------------------------------------------------------------------------------------------ overlays
def consumer_groups(app: str) -> set[str]:
    """The consumer groups a service runs (`<service>-svc.<name>` for every bus.consume in its main module)."""
    source = (ROOT / f"{app}-svc" / "src" / f"{app}_svc" / "main.py").read_text("utf-8")
    return {f"{app}-svc.{name}" for name in re.findall(r"bus\.consume\(\"([\w-]+)\"", source)}


def test_trial_is_one_replica_each_without_autoscaling(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["trial"]
    assert not of_kind(docs, "HorizontalPodAutoscaler")
    assert all(d["spec"]["replicas"] == 1 for d in of_kind(docs, "Deployment"))
    for d in of_kind(docs, "Deployment"):
        if pod_labels(d)["app.kubernetes.io/component"] == "api":
            assert pod_spec(d)["containers"][0]["resources"]["requests"]["cpu"] == "100m"


def test_city_autoscales_up_to_the_partitions(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["city"]
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")}
    assert set(hpas) == set(APPS)
    for name, hpa in hpas.items():
        spec = hpa["spec"]
        deployment = named(docs, "Deployment", name)
        assert spec["minReplicas"] == deployment["spec"]["replicas"] >= 2
        cpu = next(m for m in spec["metrics"] if m["type"] == "Resource")
        assert cpu["resource"]["name"] == "cpu"
        if name in SERVICES:
            # partitions bound the consumers: replicas beyond them would get no partition
            assert spec["maxReplicas"] <= DEFAULT_PARTITIONS
            lag = [m["external"] for m in spec["metrics"] if m["type"] == "External"]
            groups = {m["metric"]["selector"]["matchLabels"]["consumergroup"] for m in lag}
            assert groups and groups <= consumer_groups(name), f"{name}: {groups} vs {consumer_groups(name)}"
    for d in of_kind(docs, "Deployment"):
        assert d["spec"]["replicas"] >= 2, d["metadata"]["name"]


# ------------------------------------------------------------------------------------------ secrets
def test_secrets_come_from_git_ignored_files_with_committed_examples(rendered: dict[str, list[Doc]]) -> None:
    referenced: set[str] = set()
    for w in workloads(rendered["city"]):
        for c in containers(w):
            referenced |= {i["valueFrom"]["secretKeyRef"]["key"] for i in c.get("env", [])
                           if "secretKeyRef" in i.get("valueFrom", {})}
    for overlay in OVERLAYS:
        example = K8S / "overlays" / overlay / "secrets.env.example"
        values = dict(line.split("=", 1) for line in example.read_text("utf-8").splitlines()
                      if line.strip() and not line.startswith("#"))
        assert set(values) == referenced, f"{example}: {set(values) ^ referenced}"
        assert not any(values.values()), f"{example} must hold no values, only names"
        assert set(named_secret(rendered[overlay])["data"]) == referenced
        ignored = subprocess.run(["git", "check-ignore", "-q", str(example.with_name("secrets.env"))], cwd=ROOT,
                                 check=False)
        assert ignored.returncode == 0, f"{overlay}/secrets.env is not git-ignored"


# ------------------------------------------------------------------------------------------ network
def _policy_ports(docs: list[Doc], labels: dict[str, str], direction: str) -> set[int]:
    """Ports a pod with these labels may receive on (ingress) or connect to (egress), DNS left out."""
    ports: set[int] = set()
    for pol in of_kind(docs, "NetworkPolicy"):
        if direction.capitalize() not in pol["spec"]["policyTypes"] or not selects(pol["spec"]["podSelector"], labels):
            continue
        for rule in pol["spec"].get(direction, []):
            ports |= {p["port"] for p in rule.get("ports", []) if p["port"] != 53}
    return ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_open_only_what_must_talk(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    deny = named(docs, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress") and not deny.get("egress")
    # component: (ports it may receive on, ports it may connect to); "port" is the app's own
    expected = {"api": ({"port"}, {6432, 9092}), "relay": (set(), {5432, 9092}),
                "web": ({"port"}, set(SERVICES.values())), "pooler": ({6432}, {5432}), "migrate": (set(), {5432})}
    for w in workloads(docs):
        labels = pod_labels(w)
        component, app = labels["app.kubernetes.io/component"], labels["app.kubernetes.io/name"]
        ingress, egress = expected[component]
        ingress = {APPS[app]} if ingress == {"port"} else ingress
        if app == "intake" and component in ("api", "relay"):
            egress = egress | {80, 443}  # SMS gateway, status callbacks
        where = f"{w['metadata']['name']}"
        assert _policy_ports(docs, labels, "ingress") == ingress, where
        assert _policy_ports(docs, labels, "egress") == set(egress), where
    # the console is the one pod the APIs accept inside the namespace
    for app in SERVICES:
        pol = named(docs, "NetworkPolicy", f"{app}-ingress")["spec"]["ingress"][0]["from"]
        inside = [p["podSelector"]["matchLabels"] for p in pol if "podSelector" in p and "namespaceSelector" not in p]
        assert inside == [{"app.kubernetes.io/name": "console", "app.kubernetes.io/component": "web"}]


# ------------------------------------------------------------------------------------------ live pooler (optional)
def pgbouncer_or_skip() -> str:
    """A PgBouncer >= 1.21 binary (BANCHENG_PGBOUNCER or on PATH), else a skip: Debian bookworm ships 1.18."""
    path = os.environ.get("BANCHENG_PGBOUNCER") or shutil.which("pgbouncer")
    if path:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        m = re.search(r"PgBouncer (\d+)\.(\d+)", out)
        if m and (int(m[1]), int(m[2])) >= MIN_PGBOUNCER:
            return path
    pytest.skip("no PgBouncer >= 1.21 (set BANCHENG_PGBOUNCER to one): the live pooler check is optional")


async def _pooled_transactions(url: str, clients: int, rounds: int) -> tuple[int, list[str]]:
    """Transactions of three statements from many pooled clients at once: (how many committed, the errors)."""
    from sqlalchemy import text

    from bancheng_shared.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(url, pool_size=clients, max_overflow=0)
    sm = make_sessionmaker(engine)
    async with engine.connect() as conn:
        tables = list((await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"))).scalars())
    errors: list[str] = []
    done = 0

    async def client(i: int) -> None:
        nonlocal done
        for r in range(rounds):
            try:
                async with transaction(sm) as session:
                    await session.execute(text(f'SELECT count(*) FROM "{tables[(i + r) % len(tables)]}"'))
                    await session.execute(text("SELECT CAST(:a AS integer) + CAST(:b AS integer)"), {"a": i, "b": r})
                    await session.execute(text("SELECT version_num FROM alembic_version"))
                done += 1
            except Exception as exc:  # collected: the assertion shows them all
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    await asyncio.gather(*(client(i) for i in range(clients)))
    await engine.dispose()
    return done, errors


def test_asyncpg_works_through_pgbouncer_in_transaction_mode() -> None:
    """The base pgbouncer.ini (trial pool sizes) in front of a real database: the services' engine, prepared
    statements and all, from more clients than server connections. Needs PgBouncer >= 1.21; skipped without."""
    import socket

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bancheng_services.testing import postgres_base_url
    from bancheng_shared.db import make_engine

    binary = pgbouncer_or_skip()
    base_url = postgres_base_url()
    if base_url is None:
        pytest.skip("PostgreSQL unreachable")
    base = make_url(base_url)
    name = f"bc_pgb_{os.urandom(5).hex()}"
    password = os.urandom(12).hex()

    async def admin(*statements: str) -> None:
        engine = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="bc-pgbouncer-"))
    work.chmod(0o755)  # PgBouncer drops root to nobody, who must read its files
    ini = (K8S / "base" / "config" / "pgbouncer.ini").read_text("utf-8")
    ini = re.sub(r"\[databases\]\n.*?\n\n",
                 f"[databases]\ntriage = host={base.host} port={base.port or 5432} dbname={name}\n\n", ini, flags=re.S)
    ini = (ini.replace("listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
              .replace("listen_port = 6432", f"listen_port = {port}")
              .replace("/etc/pgbouncer/auth/userlist.txt", str(work / "userlist.txt"))
              .replace("/etc/pgbouncer/pool-size.ini", str(work / "pool-size.ini")))
    (work / "pgbouncer.ini").write_text(ini)
    shutil.copy(K8S / "overlays" / "trial" / "pool-size.ini", work / "pool-size.ini")
    (work / "userlist.txt").write_text(f'"{name}" "{password}"\n')
    for f in work.iterdir():
        f.chmod(0o644)
    asyncio.run(admin(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {name} OWNER {name}"))
    pooler = subprocess.Popen([binary, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(work / "pgbouncer.ini")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        direct = base.set(username=name, password=password, database=name).render_as_string(hide_password=False)
        pooled = base.set(username=name, password=password, host="127.0.0.1", port=port,
                          database="triage").render_as_string(hide_password=False)
        upgrade("triage_svc:migrations", direct)  # the migrate Job's way: directly
        wait = subprocess.run([sys.executable, str(K8S / "base" / "config" / "wait_for_migrations.py"), "triage", "30"],
                              env={**os.environ, "TRIAGE_DATABASE_URL": pooled}, capture_output=True, text=True,
                              timeout=120)
        assert wait.returncode == 0, wait.stdout + wait.stderr
        done, errors = asyncio.run(_pooled_transactions(pooled, clients=40, rounds=10))
        assert not errors and done == 400, errors[:5]
    finally:
        pooler.terminate()
        output = pooler.communicate(timeout=30)[0]
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"DROP ROLE IF EXISTS {name}"))
        shutil.rmtree(work, ignore_errors=True)
    assert "process up: PgBouncer" in output, output
