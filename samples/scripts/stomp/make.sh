#!/bin/bash
# Regenerate samples/stomp-rabbitmq.pcap and samples/stomp-rabbitmq.endpoints.jsonl.gz
# from scratch (run as root: packet capture).
#
# Needs Debian 12's rabbitmq-server (3.10.8; installed here if missing, with
# service start-up suppressed), tcpdump, tshark, capinfos, Node.js + npm.
# A private RabbitMQ node (own node name, ports 9971-9974, own epmd, data and
# logs under /tmp/wscope-stomp-rmq) is started with the rabbitmq_web_stomp
# plugin, the scenario runs under capture.sh, and the node is stopped again.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/.." && pwd)
samples=$(cd "$scripts/.." && pwd)
name=stomp-rabbitmq
port=9971

if [ "$(id -u)" != 0 ]; then echo "make.sh: must run as root (packet capture)" >&2; exit 1; fi
for tool in tcpdump tshark capinfos node npm /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "make.sh: missing $tool" >&2; exit 1; }
done

if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    # Keep apt from starting the Debian service (it would not clash with the
    # private node, but it is not wanted either).
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
    if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [ ! -d "$here/node_modules/@stomp/stompjs" ] || [ ! -d "$here/node_modules/ws" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

# ------------------------------------------------------------ the broker
. "$here/rmq_env.sh"
ctl() { "$RMQ_BIN/rabbitmqctl" -n "$RABBITMQ_NODENAME" "$@"; }
server_pid=
stop_broker() {
    if [ -n "$server_pid" ]; then
        ctl stop >/dev/null 2>&1 || true
        for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        server_pid=
    fi
    # the epmd this node started on its private port
    epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
}
trap stop_broker EXIT

ctl stop >/dev/null 2>&1 || true   # a node left over from an interrupted run
rm -rf "$RMQ_BASE"
mkdir -p "$HOME" "$RABBITMQ_LOG_BASE" "$RABBITMQ_MNESIA_BASE"
cp "$here/rabbitmq.conf" "$here/enabled_plugins" "$RMQ_BASE/"
: > "$RABBITMQ_CONF_ENV_FILE"
setsid "$RMQ_BIN/rabbitmq-server" > "$RMQ_BASE/server.out" 2>&1 < /dev/null &
server_pid=$!
up=0
for _ in $(seq 1 120); do
    if ctl await_startup --timeout 60 >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
done
if [ "$up" != 1 ]; then
    echo "make.sh: RabbitMQ did not start; see $RMQ_BASE/server.out and $RABBITMQ_LOG_BASE" >&2
    exit 1
fi
for _ in $(seq 1 100); do
    ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.1
done
echo "make.sh: $(ctl status 2>/dev/null | grep -m1 'RabbitMQ version' || true), web-STOMP on 127.0.0.1:$port" >&2

# ------------------------------------------------------------ the capture
cd "$samples"
rm -rf "$name.pcap" "$name.endpoints.jsonl" "$name.endpoints.jsonl.gz" "$name.streams"
CAPTURE_FILTER="tcp port $port" "$scripts/capture.sh" "$name" lo \
    node "$here/stomp_rabbitmq.js" --port "$port" --log "$samples/$name.endpoints.jsonl" \
    --streams "$samples/$name.streams"
stop_broker

/usr/bin/python3 "$here/verify_stomp.py" "$name.pcap" "$name.endpoints.jsonl" "$name.streams"
rm -rf "$name.streams"
gzip -9nf "$name.endpoints.jsonl"
echo "make.sh: wrote samples/$name.pcap and samples/$name.endpoints.jsonl.gz" >&2
