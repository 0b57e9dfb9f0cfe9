#!/bin/sh
# The agents' config directories must be writable (config pushes write into them, and the agents
# keep their state there): copy the shipped ones into the data volume once, then run the daemon.
set -e
mkdir -p /var/lib/ops/agents
cp -rn /etc/ops/agents/. /var/lib/ops/agents/
# The agents run as user 10001 (daemon-*.yaml, agents[].user): their directories are theirs.
chown -R 10001:10001 /var/lib/ops/agents
# The daemon's small-footprint flags (README, "Running the apps yourself"; measured in BENCHMARKS.md).
exec java -Xmx32m -Xms8m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Xss256k -XX:+UseSerialGC \
  -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=24m -XX:MaxMetaspaceSize=64m -XX:-UsePerfData \
  -jar /opt/ops/daemon/daemon.jar --config /etc/ops/daemon.yaml
