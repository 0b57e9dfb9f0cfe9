#!/bin/sh
# The agents' config directories must be writable (config pushes write into them): copy the
# shipped ones into the data volume once, then run the daemon.
set -e
mkdir -p /var/lib/ops/agents
cp -rn /etc/ops/agents/. /var/lib/ops/agents/
exec java -Xmx96m -jar /opt/ops/daemon/daemon.jar --config /etc/ops/daemon.yaml
