#!/usr/bin/env bash
# Installs the system packages the end-to-end tests and the benchmarks need (Debian 12, run as root):
#   tshark (the oracle), tcpdump (capture), nginx (real HTTP peer), curl (real client), time (/usr/bin/time),
#   chromium (a real browser: test/e2e/browser-session.test.ts runs it headless),
#   dnsmasq (real DNS server) and dnsutils (dig, real DNS client) for test/e2e/dns-dnsmasq.test.ts,
#   nghttp2-client (nghttp, an HTTP/2 client that can upgrade) for test/e2e/http2-nginx.test.ts,
#   nghttp2-proxy (nghttpx: a real server that accepts `Upgrade: h2c`, which nginx does not) for
#   test/e2e/http2-nginx.test.ts,
#   redis-server (redis-server and redis-cli) for test/e2e/redis.test.ts, mosquitto and mosquitto-clients
#   for test/e2e/mqtt.test.ts, postgresql (server 15 and psql)
#   for test/e2e/postgresql.test.ts, mariadb-server (mariadbd, mariadb-install-db) and mariadb-client (mariadb)
#   for test/e2e/mysql.test.ts.
# Idempotent: does nothing (no apt) when every binary is already there. CI runs it before the tests.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
missing=()
for bin in tshark tcpdump nginx curl dig nghttp nghttpx redis-server redis-cli psql mosquitto mosquitto_pub mosquitto_sub mariadb mariadb-install-db clang llc pkg-config make g++ python3 openssl; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
# The native addon (native/: AF_PACKET ring, libbpf loader, BPF programs) builds from these at `npm ci`.
[ -x /usr/sbin/bpftool ] || missing+=("bpftool")
pkg-config --exists libbpf libpcap libelf zlib 2>/dev/null || missing+=("libbpf-dev libpcap-dev libelf-dev zlib1g-dev")
[ -x /usr/sbin/dnsmasq ] || missing+=("dnsmasq")
[ -x /usr/bin/time ] || missing+=("time")
[ -x /usr/bin/chromium ] || missing+=("chromium")
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=("postgresql")
[ -x /usr/sbin/mariadbd ] || missing+=("mariadb-server")

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: tshark tcpdump nginx curl nghttp nghttpx redis postgresql mariadb mosquitto time chromium dnsmasq dig and the native toolchain already installed"
  exit 0
fi
echo "setup-system: missing: ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: must run as root to apt-get install them (CI runs as root)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Do not ask whether non-root users may capture (wireshark-common's debconf question).
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections

# Do not let the nginx (port 80), nghttpx (port 3000), dnsmasq (port 53), redis-server (6379), mosquitto (1883), postgresql (5432) or mariadb-server (3306) packages start a system service (the tests start
# their own instances on free ports): a
# temporary policy-rc.d refuses service starts, unless the machine already has one.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

# On Debian 12 the `nginx` package is the server binary with the core modules the tests use (static,
# gzip, proxy, return); nginx-light only adds the echo module on top of it.
# dnsmasq: the server binary (/usr/sbin/dnsmasq); dnsutils: dig.
pkgs=(tshark tcpdump nginx curl time dnsmasq dnsutils nghttp2-client nghttp2-proxy redis-server postgresql mosquitto mosquitto-clients mariadb-server mariadb-client)
# The native capture addon (npm ci builds it when these are present; `npm run build:native` by hand):
# clang/llvm (BPF programs), bpftool (vmlinux.h from the kernel's BTF), libbpf/libelf/zlib (loader),
# libpcap (capture filters), make/g++/python3 (node-gyp); openssl makes the TLS tests' certificates.
pkgs+=(clang llvm bpftool libbpf-dev libpcap-dev linux-libc-dev libelf-dev zlib1g-dev pkg-config make g++ python3 openssl)
# chromium: Debian's build (/usr/bin/chromium) with its recommended packages (fonts, mesa, udev...), the
# configuration the browser test was developed and run with.
browser=(chromium fonts-liberation)

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
apt-get install -y -qq "${browser[@]}"

for bin in tshark tcpdump nginx curl dig nghttp nghttpx redis-server redis-cli psql mosquitto mosquitto_pub mosquitto_sub mariadb mariadb-install-db clang llc pkg-config make g++ python3 openssl; do
  command -v "$bin" >/dev/null 2>&1 || { echo "setup-system: $bin still missing after apt-get" >&2; exit 1; }
done
[ -x /usr/sbin/bpftool ] || { echo "setup-system: /usr/sbin/bpftool still missing after apt-get" >&2; exit 1; }
pkg-config --exists libbpf libpcap libelf zlib || { echo "setup-system: libbpf/libpcap/libelf/zlib development files still missing after apt-get" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "setup-system: /usr/bin/time still missing after apt-get" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "setup-system: /usr/bin/chromium still missing after apt-get" >&2; exit 1; }
[ -x /usr/sbin/dnsmasq ] || { echo "setup-system: /usr/sbin/dnsmasq still missing after apt-get" >&2; exit 1; }
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "setup-system: PostgreSQL 15 (initdb) still missing after apt-get" >&2; exit 1; }
[ -x /usr/sbin/mariadbd ] || { echo "setup-system: /usr/sbin/mariadbd still missing after apt-get" >&2; exit 1; }
echo "setup-system: installed ${pkgs[*]} ${browser[*]}"
