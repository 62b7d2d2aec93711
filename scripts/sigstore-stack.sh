#!/usr/bin/env bash
# A local Sigstore instance on loopback, for tests and for people who run a private one.
#
#   scripts/sigstore-stack.sh start DIR        start everything, write DIR's files, print DIR
#   scripts/sigstore-stack.sh token DIR [KIND] print a fresh identity token (KIND: github, the
#                                              default, or email)
#   scripts/sigstore-stack.sh stop DIR         stop what `start DIR` started
#
# What runs (each on a free 127.0.0.1 port; nothing contacts the internet):
#   oidc-issuer        scripts/sigstore-stack/oidc-issuer.go (stdlib Go, built once into .tools/bin)
#   fulcio             ephemeral CA, no CT log, trusting the two issuers of oidc-issuer
#   rekor-server-posix Rekor v2 (rekor-tiles) with POSIX storage under DIR
#   timestamp-server   RFC 3161 timestamp authority, in-memory signer, no NTP monitoring
# The servers are installed (pinned) by scripts/install-tools.sh.
#
# Files written into DIR:
#   trusted_root.json, signing_config.json   for --trusted-root / --signing-config
#   identity, issuer                         what a verifier expects of `token DIR` (GitHub kind)
#                                            and of actions.env's tokens
#   email-identity, email-issuer             the same for `token DIR email`
#   actions.env                              GITHUB_ACTIONS, ACTIONS_ID_TOKEN_REQUEST_URL and
#                                            ACTIONS_ID_TOKEN_REQUEST_TOKEN (source it)
#   urls.env                                 FULCIO_URL, REKOR_URL, TSA_URL, OIDC_URL
#   pids, logs/                              what `stop` kills; each server's output
#
# With SIGSTORE_STACK_OWNER=PID in the environment of `start`, the instance stops by itself
# when process PID ends. Every listener is on a free port (timestamp-server's metrics too: see
# tsa_binary), so several instances run side by side.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$REPO/.tools/bin

die() {
	echo "sigstore-stack: $*" >&2
	exit 1
}

usage() {
	die "usage: $0 start|token|stop DIR"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for URL NAME LOG: until URL answers 2xx (30 s at most).
wait_for() {
	local url=$1 name=$2 log=$3 i
	for ((i = 0; i < 300; i++)); do
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 20 "$log" >&2 || true
	die "$name did not answer at $url within 30 s (log: $log)"
}

# start_bg NAME CMD...: start CMD in the background, its output in DIR/logs/NAME.log.
start_bg() {
	local name=$1
	shift
	setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
	echo "$! $name" >>"$DIR/pids"
}

stop() {
	# The watchdog of SIGSTORE_STACK_OWNER (unless it is the one stopping).
	if [[ -f $DIR/watchdog.pid ]]; then
		local watchdog
		watchdog=$(cat "$DIR/watchdog.pid")
		[[ $watchdog == "$$" ]] || kill -TERM "$watchdog" 2>/dev/null || true
		rm -f "$DIR/watchdog.pid"
	fi
	[[ -f $DIR/pids ]] || return 0
	local pid name
	while read -r pid name; do
		# Each server runs in its own session (setsid): end its group.
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done <"$DIR/pids"
	rm -f "$DIR/pids"
}

issuer_binary() {
	local src=$REPO/scripts/sigstore-stack/oidc-issuer.go sum out
	sum=$(sha256sum "$src" | cut -c1-12)
	out=$BIN/oidc-issuer-$sum
	if [[ ! -x $out ]]; then
		GOFLAGS='' go build -o "$out.tmp.$$" "$src" || die "go build $src failed"
		mv -f "$out.tmp.$$" "$out"
	fi
	echo "$out"
}

# tsa_binary: timestamp-server at the version installed in .tools/bin, built from its module
# source with one change: the metrics listener's address comes from TSA_METRICS_ADDR instead
# of the fixed :2112 (v2.1.3 has no flag for it), so that several instances run at once. Built
# once into .tools/bin/timestamp-server-VERSION-HASH (HASH: of this function).
tsa_binary() {
	local version src sum out work
	version=$(go version -m "$BIN/timestamp-server" 2>/dev/null |
		awk '$1 == "mod" && $2 == "github.com/sigstore/timestamp-authority/v2" { print $3 }')
	[[ -n $version ]] || die "$BIN/timestamp-server: cannot tell its version (go version -m)"
	sum=$(declare -f tsa_binary | sha256sum | cut -c1-12)
	out=$BIN/timestamp-server-$version-$sum
	if [[ ! -x $out ]]; then
		src=$(GOFLAGS='' go mod download -json "github.com/sigstore/timestamp-authority/v2@$version" |
			python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') ||
			die "go mod download github.com/sigstore/timestamp-authority/v2@$version failed"
		work=$(mktemp -d "$BIN/.tsa-build.XXXXXX")
		cp -R "$src/." "$work/"
		chmod -R u+w "$work"
		grep -q 'Addr: *":2112",' "$work/pkg/server/prometheus.go" ||
			{ rm -rf "$work"; die "timestamp-server $version: pkg/server/prometheus.go no longer sets Addr \":2112\""; }
		sed -i 's/Addr: *":2112",/Addr: metricsAddr(),/' "$work/pkg/server/prometheus.go"
		cat >"$work/pkg/server/wasipack_metrics.go" <<'GO'
package server

import "os"

// metricsAddr is TSA_METRICS_ADDR, else upstream's fixed ":2112" (added by wasipack's
// scripts/sigstore-stack.sh).
func metricsAddr() string {
	if addr := os.Getenv("TSA_METRICS_ADDR"); addr != "" {
		return addr
	}
	return ":2112"
}
GO
		(cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp.$$" ./cmd/timestamp-server) ||
			{ rm -rf "$work" "$out.tmp.$$"; die "building timestamp-server $version with TSA_METRICS_ADDR failed"; }
		rm -rf "$work"
		mv -f "$out.tmp.$$" "$out"
	fi
	echo "$out"
}

start() {
	local tool
	for tool in fulcio rekor-server-posix timestamp-server cosign3; do
		[[ -x $BIN/$tool ]] || die "$BIN/$tool is missing: run scripts/install-tools.sh"
	done
	command -v openssl >/dev/null || die "'openssl' not found"
	command -v curl >/dev/null || die "'curl' not found"
	mkdir -p "$DIR/logs"
	DIR=$(cd "$DIR" && pwd)
	[[ ! -s $DIR/pids ]] || die "$DIR already has a running stack (stop it first)"
	trap 'stop' EXIT

	# --- OIDC issuer ---
	local request_token issuer_bin
	request_token=$(openssl rand -hex 16)
	echo "$request_token" >"$DIR/request-token"
	issuer_bin=$(issuer_binary)
	rm -f "$DIR/oidc-url"
	start_bg oidc-issuer "$issuer_bin" -url-file "$DIR/oidc-url" -request-token "$request_token"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $DIR/oidc-url ]] && break
		sleep 0.1
	done
	[[ -s $DIR/oidc-url ]] || die "oidc-issuer did not start (log: $DIR/logs/oidc-issuer.log)"
	local oidc
	oidc=$(cat "$DIR/oidc-url")
	wait_for "$oidc/github/.well-known/openid-configuration" oidc-issuer "$DIR/logs/oidc-issuer.log"

	# --- Fulcio ---
	cat >"$DIR/fulcio.yaml" <<YAML
oidc-issuers:
  $oidc/email:
    issuer-url: $oidc/email
    client-id: sigstore
    type: email
  $oidc/github:
    issuer-url: $oidc/github
    client-id: sigstore
    type: ci-provider
    ci-provider: github-workflow
ci-issuer-metadata:
  github-workflow:
    default-template-values:
      url: "https://github.com"
      environment: ""
    extension-templates:
      github-workflow-trigger: "event_name"
      github-workflow-sha: "sha"
      github-workflow-name: "workflow"
      github-workflow-repository: "repository"
      github-workflow-ref: "ref"
      build-signer-uri: "{{ .url }}/{{ .job_workflow_ref }}"
      build-signer-digest: "job_workflow_sha"
      runner-environment: "runner_environment"
      source-repository-uri: "{{ .url }}/{{ .repository }}"
      source-repository-digest: "sha"
      source-repository-ref: "ref"
      source-repository-identifier: "repository_id"
      source-repository-owner-uri: "{{ .url }}/{{ .repository_owner }}"
      source-repository-owner-identifier: "repository_owner_id"
      build-config-uri: "{{ .url }}/{{ .workflow_ref }}"
      build-config-digest: "workflow_sha"
      build-trigger: "event_name"
      run-invocation-uri: "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}"
      source-repository-visibility-at-signing: "repository_visibility"
      deployment-environment: "environment"
    subject-alternative-name-template: "{{ .url }}/{{ .job_workflow_ref }}"
YAML
	local fulcio_port fulcio
	fulcio_port=$(free_port)
	fulcio=http://127.0.0.1:$fulcio_port
	start_bg fulcio "$BIN/fulcio" serve --ca=ephemeralca --config-path="$DIR/fulcio.yaml" \
		--host=127.0.0.1 --port="$fulcio_port" --grpc-host=127.0.0.1 --grpc-port="$(free_port)" \
		--metrics-port="$(free_port)" --ct-log-url="" \
		--legacy-unix-domain-socket="@wasipack-fulcio-legacy-$fulcio_port-$request_token"

	# --- Rekor v2 (POSIX storage) ---
	mkdir -p "$DIR/rekor"
	openssl genpkey -algorithm ed25519 -out "$DIR/rekor/signer.pem" 2>/dev/null
	openssl pkey -in "$DIR/rekor/signer.pem" -pubout -out "$DIR/rekor/signer.pub" 2>/dev/null
	local rekor_port rekor
	rekor_port=$(free_port)
	rekor=http://127.0.0.1:$rekor_port
	start_bg rekor "$BIN/rekor-server-posix" serve --hostname=127.0.0.1 \
		--storage-dir="$DIR/rekor/log" --signer-filepath="$DIR/rekor/signer.pem" \
		--http-address=127.0.0.1 --http-port="$rekor_port" --grpc-address=127.0.0.1 \
		--grpc-port="$(free_port)" --http-metrics-port="$(free_port)" --checkpoint-interval=1s

	# --- timestamp authority ---
	# Its metrics on a free loopback port too (tsa_binary): several instances run at once.
	local tsa_port tsa tsa_bin
	tsa_bin=$(tsa_binary)
	tsa_port=$(free_port)
	tsa=http://127.0.0.1:$tsa_port
	TSA_METRICS_ADDR=127.0.0.1:$(free_port) start_bg tsa "$tsa_bin" serve --host=127.0.0.1 \
		--port="$tsa_port" --timestamp-signer=memory --disable-ntp-monitoring

	wait_for "$fulcio/api/v1/rootCert" fulcio "$DIR/logs/fulcio.log"
	wait_for "$rekor/healthz" rekor "$DIR/logs/rekor.log"
	wait_for "$tsa/api/v1/timestamp/certchain" timestamp-server "$DIR/logs/tsa.log"
	curl -fsS "$fulcio/api/v1/rootCert" -o "$DIR/fulcio-chain.pem"
	curl -fsS "$tsa/api/v1/timestamp/certchain" -o "$DIR/tsa-chain.pem"

	# --- trust root and signing config (cosign writes them; no defaults, nothing fetched) ---
	local since
	since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
	"$BIN/cosign3" trusted-root create \
		--fulcio="url=$fulcio,certificate-chain=$DIR/fulcio-chain.pem,start-time=$since" \
		--rekor="url=$rekor,public-key=$DIR/rekor/signer.pub,start-time=$since,origin=127.0.0.1" \
		--tsa="url=$tsa/api/v1/timestamp,certificate-chain=$DIR/tsa-chain.pem,start-time=$since" \
		--out "$DIR/trusted_root.json" >"$DIR/logs/trusted-root.log" 2>&1 ||
		die "cosign trusted-root create failed (log: $DIR/logs/trusted-root.log)"
	"$BIN/cosign3" signing-config create \
		--fulcio="url=$fulcio,api-version=1,start-time=$since,operator=wasipack.test" \
		--rekor="url=$rekor,api-version=2,start-time=$since,operator=wasipack.test" \
		--rekor-config=ANY \
		--oidc-provider="url=$oidc/email,api-version=1,start-time=$since,operator=wasipack.test" \
		--tsa="url=$tsa/api/v1/timestamp,api-version=1,start-time=$since,operator=wasipack.test" \
		--tsa-config=ANY \
		--out "$DIR/signing_config.json" >"$DIR/logs/signing-config.log" 2>&1 ||
		die "cosign signing-config create failed (log: $DIR/logs/signing-config.log)"

	echo "https://github.com/wasipack/example/.github/workflows/release.yml@refs/heads/main" >"$DIR/identity"
	echo "$oidc/github" >"$DIR/issuer"
	echo "signer@wasipack.test" >"$DIR/email-identity"
	echo "$oidc/email" >"$DIR/email-issuer"
	cat >"$DIR/actions.env" <<ENV
GITHUB_ACTIONS=true
ACTIONS_ID_TOKEN_REQUEST_URL=$oidc/github/token?kind=actions
ACTIONS_ID_TOKEN_REQUEST_TOKEN=$request_token
ENV
	cat >"$DIR/urls.env" <<ENV
FULCIO_URL=$fulcio
REKOR_URL=$rekor
TSA_URL=$tsa/api/v1/timestamp
OIDC_URL=$oidc
ENV
	trap - EXIT
	# With SIGSTORE_STACK_OWNER=PID, everything stops when that process ends (a test binary
	# that shares one instance among its tests).
	if [[ -n ${SIGSTORE_STACK_OWNER:-} ]]; then
		# shellcheck disable=SC2016 # $1..$3 are the inner shell's arguments
		setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" stop "$3"' \
			watchdog "$SIGSTORE_STACK_OWNER" "${BASH_SOURCE[0]}" "$DIR" >/dev/null 2>&1 </dev/null &
		echo $! >"$DIR/watchdog.pid"
	fi
	echo "$DIR"
}

token() {
	local kind=${1:-github} oidc
	[[ $kind == github || $kind == email ]] || die "token kind must be github or email, not '$kind'"
	[[ -s $DIR/oidc-url ]] || die "$DIR has no running stack (run: $0 start $DIR)"
	oidc=$(cat "$DIR/oidc-url")
	curl -fsS -H "Authorization: Bearer $(cat "$DIR/request-token")" \
		"$oidc/$kind/token?audience=sigstore" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["value"])'
}

[[ $# -ge 2 ]] || usage
cmd=$1
DIR=$2
shift 2
case $cmd in
start) start ;;
token) token "$@" ;;
stop) stop ;;
*) usage ;;
esac
