#!/usr/bin/env bash
# Installs the Debian packages the tests use as real peers: openssl and curl
# (TLS and HTTP interop), BIRD 2 (BGP), iproute2 (network namespaces for the
# anycast story), PostgreSQL server and psql (a real L4 protocol end to end:
# test/e2e/protocols.test.ts runs its own cluster), and for the data plane
# benchmark nginx (upstream), wrk (load) and HAProxy (the comparison); for
# observability Chromium (the dashboard test, driven by playwright-core) and
# Prometheus with promtool (scrape and metric-format tests); zsh and fish
# (the shell completion test loads the scripts into each real shell); systemd
# (systemd-analyze verify checks the shipped units); etcd (controller replicas:
# test/controller/controller-replicas.test.ts runs its own etcd); kubectl, for its kustomize
# (test/kubernetes/manifests.test.ts builds deploy/kubernetes/base): Debian's
# kubernetes-client, only when no kubectl is on the PATH (a newer one from
# elsewhere is kept; the base uses only what kubectl 1.20's kustomize knows).
# Idempotent; uses sudo when not root.
set -euo pipefail
pkgs=(openssl curl ca-certificates bird2 iproute2 procps nginx wrk haproxy frr postgresql postgresql-client chromium prometheus zsh fish systemd etcd-server)
command -v kubectl >/dev/null 2>&1 || pkgs+=(kubernetes-client)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "setup-test-deps: all present"; exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# BIRD's, nginx's, HAProxy's, PostgreSQL's, Prometheus's and etcd's packages start system daemons; tests and benchmarks run their own instances.
if command -v systemctl >/dev/null 2>&1; then
  for svc in bird frr nginx haproxy postgresql prometheus prometheus-node-exporter etcd; do $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
fi
# Without systemd (containers) Debian starts PostgreSQL's default cluster through its init script.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do $SUDO pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true; done
fi
