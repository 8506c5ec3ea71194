#!/usr/bin/env bash
# Checks the Compose files without a Docker engine: both parse as YAML, their
# services are the ones docs/deploy.md describes, the replicas share one store
# and trust only their own network, and every file they mount exists. When
# `caddy` is installed, the replicas' Caddyfile is validated too.
#
#   bash scripts/check-compose.sh          (needs python3 with PyYAML, or pip to get it)
set -euo pipefail
cd "$(dirname "$0")/.."

python=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  venv=.ci-tools/pyyaml
  [ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q pyyaml; }
  python="$venv/bin/python"
fi

"$python" - <<'PY'
import ipaddress, os, sys
import yaml

def load(path):
    with open(path) as f:
        return yaml.safe_load(f)

fail = []
def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        fail.append(what)

single = load("deploy/compose.yaml")
check(set(single["services"]) == {"weld", "caddy"}, "compose.yaml: services weld and caddy")

replicas = load("deploy/compose.replicas.yaml")
services = replicas["services"]
check(set(services) == {"weld-a", "weld-b", "valkey", "caddy"},
      "compose.replicas.yaml: services weld-a, weld-b, valkey, caddy")
subnet = ipaddress.ip_network(replicas["networks"]["web"]["ipam"]["config"][0]["subnet"])
for name in ("weld-a", "weld-b"):
    env = services[name]["environment"]
    check(env.get("WELD_REDIS_URL", "").startswith("redis://valkey:"),
          f"{name}: WELD_REDIS_URL points at the valkey service")
    check(ipaddress.ip_network(env["WELD_TRUSTED_PROXIES"]) == subnet,
          f"{name}: trusts only its own network {subnet}")
    check(services[name]["env_file"] == ".env", f"{name}: reads the shared .env (one session secret)")
    check("ports" not in services[name], f"{name}: publishes no port")
check(services["weld-a"] == services["weld-b"], "weld-a and weld-b are the same service")
check("ports" not in services["valkey"], "valkey: publishes no port")
check("--save" in services["valkey"]["command"], "valkey: keeps no snapshots")
deps = services["caddy"]["depends_on"]
check(set(deps) == {"weld-a", "weld-b"}, "caddy: waits for both replicas")
for volume in services["caddy"]["volumes"]:
    source = volume.split(":")[0]
    if source.startswith("./"):
        check(os.path.isfile(os.path.join("deploy", source)), f"caddy: mounts existing {source}")
caddyfile = open("deploy/Caddyfile.replicas").read()
check("reverse_proxy weld-a:8080 weld-b:8080" in caddyfile, "Caddyfile.replicas: proxies to both replicas")
check("health_uri /api/health" in caddyfile, "Caddyfile.replicas: checks /api/health")
sys.exit(1 if fail else 0)
PY

if command -v caddy >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if WELD_DOMAIN=localhost HOME=$tmp XDG_DATA_HOME=$tmp XDG_CONFIG_HOME=$tmp \
    caddy validate --config deploy/Caddyfile.replicas --adapter caddyfile >/dev/null 2>&1; then
    echo "ok    caddy validate accepts deploy/Caddyfile.replicas"
  else
    echo "FAIL  caddy validate refuses deploy/Caddyfile.replicas" >&2
    exit 1
  fi
else
  echo "skip  caddy is not installed: deploy/Caddyfile.replicas not validated"
fi
