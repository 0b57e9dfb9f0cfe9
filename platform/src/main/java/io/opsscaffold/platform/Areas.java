package io.opsscaffold.platform;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each area's online controllers, from {@link Discovery}, and the one the platform calls: any will
 * do, since any manager of an area answers any call. The pick sticks to one controller while it
 * stays online (its channel stays warm); the others follow it as fallbacks.
 */
final class Areas {
  /** A controller the platform may call. */
  record Candidate(String id, String api) {}

  /** An area's controllers to try, in order. */
  record Pick(String area, List<Candidate> all) {
    Candidate first() {
      return all.getFirst();
    }
  }

  private final Discovery discovery;
  private final Clock clock;
  private final Duration controllersTtl;
  private final Map<String, String> selected = new ConcurrentHashMap<>();

  Areas(Discovery discovery, Clock clock, Duration controllersTtl) {
    this.discovery = discovery;
    this.clock = clock;
    this.controllersTtl = controllersTtl;
  }

  /** Every area seen in etcd since the platform started, in order. */
  List<String> known() {
    return discovery.areas();
  }

  /** The areas seen before that have no usable controller now. */
  List<String> offline() {
    List<String> out = new ArrayList<>();
    for (String area : known()) {
      if (pick(area).isEmpty()) {
        out.add(area);
      }
    }
    return out;
  }

  /** {@code area}'s usable controllers, the selected one first; empty when it has none. */
  Optional<Pick> pick(String area) {
    List<Candidate> usable = new ArrayList<>();
    for (Discovery.Registered r : discovery.all()) {
      if (r.area().equals(area) && r.usable(clock, controllersTtl, discovery.synced())) {
        String api = r.record().getMetadataOrDefault("api", "");
        if (!api.isBlank()) {
          usable.add(new Candidate(r.id(), api));
        }
      }
    }
    if (usable.isEmpty()) {
      selected.remove(area);
      return Optional.empty();
    }
    String chosen = selected.get(area);
    Candidate first =
        usable.stream().filter(c -> c.id().equals(chosen)).findFirst().orElse(usable.getFirst());
    selected.put(area, first.id());
    List<Candidate> ordered = new ArrayList<>(usable.size());
    ordered.add(first);
    usable.stream().filter(c -> c != first).forEach(ordered::add);
    return Optional.of(new Pick(area, List.copyOf(ordered)));
  }

  /** The id of the controller the platform calls for {@code area}, if any. */
  Optional<String> selectedId(String area) {
    return Optional.ofNullable(selected.get(area));
  }
}
