package io.opsscaffold.platform;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;

/**
 * The platform's gauges and counters (the table is observability/METRICS.md): how many areas are
 * listed, stale or missing, how many hosts the index holds, each listing's age, and listings made.
 */
final class PlatformMetrics {
  static final AttributeKey<String> STATE = AttributeKey.stringKey("ops.state");
  static final AttributeKey<String> AREA = AttributeKey.stringKey("ops.area");
  static final AttributeKey<String> RESULT = AttributeKey.stringKey("ops.result");

  private PlatformMetrics() {}

  static void register(Meter meter, AgentIndex index) {
    meter
        .gaugeBuilder("ops.platform.areas")
        .ofLongs()
        .setUnit("{area}")
        .setDescription("Areas by the state of their listing: fresh, stale or missing")
        .buildWithCallback(
            m -> {
              AgentIndex.View v = index.view();
              long stale = v.stale().size();
              m.record(v.listings().size() - stale, Attributes.of(STATE, "fresh"));
              m.record(stale, Attributes.of(STATE, "stale"));
              m.record(v.missing().size(), Attributes.of(STATE, "missing"));
            });
    meter
        .gaugeBuilder("ops.platform.hosts")
        .ofLongs()
        .setUnit("{host}")
        .setDescription("Hosts in the index, every area")
        .buildWithCallback(
            m ->
                m.record(index.view().listings().stream().mapToLong(l -> l.agents().size()).sum()));
    meter
        .gaugeBuilder("ops.platform.listing.age")
        .setUnit("s")
        .setDescription("Age of each area's last full listing")
        .buildWithCallback(
            m ->
                index
                    .view()
                    .listings()
                    .forEach(
                        l ->
                            m.record(
                                com.google.protobuf.util.Durations.toMillis(index.age(l)) / 1000.0,
                                Attributes.of(AREA, l.area()))));
    meter
        .counterBuilder("ops.platform.listings")
        .setUnit("{listing}")
        .setDescription("Area listings made, by result")
        .buildWithCallback(
            m -> {
              m.record(index.listingsDone(), Attributes.of(RESULT, "ok"));
              m.record(index.listingsFailed(), Attributes.of(RESULT, "failed"));
            });
  }
}
