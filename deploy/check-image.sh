#!/usr/bin/env bash
# Checks a Brook image by hand (not part of npm test): the container starts as a one-voter
# cluster in pod mode, with the pod's security settings (read-only root, no capabilities, no new
# privileges, the image's non-root user, node as PID 1); it reports SERVING on gRPC health; the
# `brook` CLI in the image creates a topic, produces and consumes; and SIGTERM stops it with a
# controlled shutdown (exit 0, "broker stopped") well within deploy/k8s's grace period.
#
#   deploy/check-image.sh IMAGE
#
# Runs on the host network: a podman bridge network would add iptables rules to the host.
# CHECK_PORT (default 17070) is the host port the broker binds. PODMAN and PODMAN_RUN_ARGS add what
# a restricted host needs; in a container without CAP_SYS_RESOURCE and with hybrid cgroups:
#   PODMAN="podman --runtime runc" \
#   PODMAN_RUN_ARGS="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096" \
#   deploy/check-image.sh localhost/brook:dev
set -euo pipefail

image=${1:?usage: check-image.sh IMAGE}
port=${CHECK_PORT:-17070}
read -r -a podman <<<"${PODMAN:-podman}"
read -r -a run_args <<<"${PODMAN_RUN_ARGS:-}"
# terminationGracePeriodSeconds in deploy/k8s/base/statefulset.yaml.
grace_s=90
name=brook-check-$$
address=127.0.0.1:$port
# The pod's stable DNS name, as pod mode derives it; resolved to loopback inside the container.
fqdn=brook-0.brook.check.svc.cluster.local

fail() {
  echo "check-image: FAIL: $*" >&2
  "${podman[@]}" logs --tail 20 "$name" >&2 || true
  exit 1
}
cleanup() { "${podman[@]}" rm --force --volumes "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"${podman[@]}" run --detach --name "$name" --network host \
  --read-only --read-only-tmpfs=false --cap-drop ALL --security-opt no-new-privileges \
  --add-host "$fqdn:127.0.0.1" \
  --env BROOK_POD_MODE=true --env BROOK_POD_NAME=brook-0 --env BROOK_POD_NAMESPACE=check \
  --env BROOK_VOTER_COUNT=1 --env "BROOK_CLUSTER_ID=$(cat /proc/sys/kernel/random/uuid)" \
  --env "BROOK_LISTEN=0.0.0.0:$port" \
  "${run_args[@]}" "$image" >/dev/null
echo "started $name from $image"

[[ $("${podman[@]}" exec "$name" id -u) != 0 ]] || fail "runs as root"
pid1=$("${podman[@]}" exec "$name" cat /proc/1/cmdline | tr '\0' ' ')
[[ $pid1 == node* ]] || fail "PID 1 is '$pid1', not node"
echo "runs as uid $("${podman[@]}" exec "$name" id -u); PID 1: $pid1"

# The Kubernetes readiness probe's question: grpc.health.v1.Health/Check for service "".
health_check='
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";
const { Health } = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })).grpc.health.v1;
const client = new Health(process.argv[1], grpc.credentials.createInsecure());
client.check({ service: "" }, { deadline: Date.now() + 2000 }, (error, reply) => {
  console.log(error ? `error ${error.code}` : reply.status);
  client.close();
});'
status=
for _ in $(seq 1 120); do
  status=$("${podman[@]}" exec --workdir /app "$name" \
    node --input-type=module -e "$health_check" "$address" 2>/dev/null || true)
  [[ $status == SERVING ]] && break
  sleep 1
done
[[ $status == SERVING ]] || fail "health is '$status' after 120 s, not SERVING"
echo "health: SERVING"

"${podman[@]}" exec "$name" brook topics create check --bootstrap "$address" >/dev/null
printf 'hello from the image\n' |
  "${podman[@]}" exec --interactive "$name" brook produce check --bootstrap "$address" 2>/dev/null
record=$("${podman[@]}" exec "$name" brook consume check --from-beginning --max-messages 1 \
  --timeout-ms 10000 --bootstrap "$address")
[[ $record == 'hello from the image' ]] || fail "consumed '$record'"
echo "CLI: created a topic, produced and consumed a record"

start_ms=$(date +%s%3N)
# podman stop sends the image's STOPSIGNAL (SIGTERM) and SIGKILLs after the timeout, like the kubelet.
"${podman[@]}" stop --time "$grace_s" "$name" >/dev/null
elapsed_ms=$(($(date +%s%3N) - start_ms))
exit_code=$("${podman[@]}" inspect --format '{{.State.ExitCode}}' "$name")
[[ $exit_code == 0 ]] || fail "exit code $exit_code after SIGTERM (137: SIGKILLed at the grace period)"
"${podman[@]}" logs "$name" 2>&1 | grep -q '"signal":"SIGTERM".*"msg":"controlled shutdown"' ||
  fail "no controlled shutdown logged"
"${podman[@]}" logs "$name" 2>&1 | grep -q '"msg":"broker stopped"' || fail "no 'broker stopped'"
((elapsed_ms < grace_s * 1000)) || fail "stopping took ${elapsed_ms} ms"
echo "SIGTERM: controlled shutdown, exit 0 after ${elapsed_ms} ms (grace period ${grace_s} s)"
echo "check-image: OK"
