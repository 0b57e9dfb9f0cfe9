package io.opsscaffold.platform;

import com.google.protobuf.util.Durations;
import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.compat.controller.v1.ControllerServiceGrpc;
import io.opsscaffold.api.compat.controller.v1.Host;
import io.opsscaffold.api.compat.controller.v1.ListHostsRequest;
import io.opsscaffold.api.compat.controller.v1.ListHostsResponse;
import io.opsscaffold.api.compat.controller.v1.Package;
import io.opsscaffold.api.platform.v1.Agent;
import io.opsscaffold.api.platform.v1.AreaAvailability;
import io.opsscaffold.api.platform.v1.StaleArea;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Every area's agents (hosts) as its controllers last listed them, and an index by agent code. Each
 * area is listed again when its listing is half the agents TTL old (at once when its controllers
 * change), at most {@code workers.max} areas at a time; a listing that fails keeps the previous
 * one, served with its age and the reason. Readers get immutable snapshots.
 */
final class AgentIndex implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AgentIndex.class.getName());
  private static final int PAGE = 1000;

  /** An area's last good listing, and how the last attempt went. */
  record Listing(
      String area,
      String controllerId,
      List<Host> hosts,
      List<Agent> agents,
      AreaAvailability availability,
      long listedAtMs,
      Optional<String> failure) {

    Listing failed(String reason) {
      return new Listing(
          area, controllerId, hosts, agents, availability, listedAtMs, Optional.of(reason));
    }
  }

  /** The whole view at one moment. */
  record View(
      List<Listing> listings,
      Map<String, List<Agent>> byCode,
      Map<String, Agent> byAreaAndId,
      List<String> missing,
      List<StaleArea> stale) {

    /** The key of {@link #byAreaAndId}. */
    static String key(String area, String id) {
      return area + "/" + id;
    }
  }

  private final Areas areas;
  private final Controllers controllers;
  private final Clock clock;
  private final Duration ttl;
  private final Duration timeout;
  private final Map<String, Listing> listings = new ConcurrentHashMap<>();
  private final Map<String, String> unlisted = new ConcurrentHashMap<>(); // area -> why
  private final Set<String> running = ConcurrentHashMap.newKeySet();
  private final Set<String> failing = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicLong listed =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong unlistable =
      new java.util.concurrent.atomic.AtomicLong();
  private final Semaphore workers;
  private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
  private final ScheduledExecutorService ticker =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("agent-index").daemon(true).unstarted(r));
  private volatile View view = new View(List.of(), Map.of(), Map.of(), List.of(), List.of());

  private final int retries;
  private final Duration retryInterval;

  /**
   * @param retries how many more attempts a failed listing gets (each on the area's next
   *     controller)
   */
  AgentIndex(
      Areas areas,
      Controllers controllers,
      Clock clock,
      Duration ttl,
      Duration timeout,
      int retries,
      Duration retryInterval,
      Semaphore workers) {
    this.retries = retries;
    this.retryInterval = retryInterval;
    this.areas = areas;
    this.controllers = controllers;
    this.clock = clock;
    this.ttl = ttl;
    this.timeout = timeout;
    this.workers = workers;
  }

  void start() {
    long every = Math.max(50, Math.min(1000, ttl.toMillis() / 4));
    ticker.scheduleWithFixedDelay(this::tick, 0, every, TimeUnit.MILLISECONDS);
    ticker.scheduleWithFixedDelay(this::flush, 200, 200, TimeUnit.MILLISECONDS);
  }

  /** The areas' controllers changed: list the areas whose listing is not from a usable one. */
  void controllersChanged() {
    ticker.execute(
        () -> {
          for (String area : areas.known()) {
            Listing l = listings.get(area);
            Optional<Areas.Pick> pick = areas.pick(area);
            if (l == null
                || pick.isEmpty()
                || !pick.get().all().stream().anyMatch(c -> c.id().equals(l.controllerId()))) {
              refresh(area);
            }
          }
          rebuild();
        });
  }

  private void tick() {
    long now = clock.millis();
    for (String area : areas.known()) {
      Listing l = listings.get(area);
      if (l == null || now - l.listedAtMs() >= ttl.toMillis() / 2) {
        refresh(area);
      }
      watch(area, l);
    }
    rebuild();
  }

  // ---- watches: between listings, the hosts whose agents changed are read again at once

  /** An area's open watch, on the controller its listing came from. */
  private record AreaWatch(String controllerId, io.grpc.Context.CancellableContext call) {}

  private final Map<String, AreaWatch> watches = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> dirty = new ConcurrentHashMap<>();

  /** The most hosts read one by one after changes; more, and the area is listed again whole. */
  private static final int PATCH_LIMIT = 200;

  /**
   * Keeps a watch of {@code area}'s agents open on the controller its listing came from (the fleet
   * API's WatchAgents): every change after the watch's snapshot marks its host dirty.
   */
  private void watch(String area, Listing l) {
    AreaWatch open = watches.get(area);
    Optional<Areas.Pick> pick = areas.pick(area);
    Optional<Areas.Candidate> target =
        l == null || pick.isEmpty()
            ? Optional.empty()
            : pick.get().all().stream().filter(c -> c.id().equals(l.controllerId())).findFirst();
    if (open != null && target.map(c -> c.id().equals(open.controllerId())).orElse(false)) {
      return;
    }
    if (open != null) {
      open.call().cancel(null);
      watches.remove(area, open);
    }
    if (target.isEmpty()) {
      return;
    }
    io.grpc.Channel channel;
    try {
      channel = controllers.channel(area, target.get().api());
    } catch (Controllers.Unreachable e) {
      return; // the listing says why
    }
    io.grpc.Context.CancellableContext call = io.grpc.Context.current().withCancellation();
    AreaWatch w = new AreaWatch(target.get().id(), call);
    watches.put(area, w);
    java.util.concurrent.atomic.AtomicBoolean synced =
        new java.util.concurrent.atomic.AtomicBoolean();
    call.run(
        () ->
            io.opsscaffold.api.fleet.v1.FleetServiceGrpc.newStub(channel)
                .watchAgents(
                    io.opsscaffold.api.fleet.v1.WatchAgentsRequest.getDefaultInstance(),
                    new io.grpc.stub.StreamObserver<>() {
                      @Override
                      public void onNext(io.opsscaffold.api.fleet.v1.AgentEvent e) {
                        if (e.getChange().equals("SYNCED")) {
                          // What changed between the listing and this watch's snapshot is in
                          // neither: list once more, as an informer relists after a new watch.
                          synced.set(true);
                          refresh(area);
                        } else if (synced.get() && e.hasAgent()) {
                          dirty
                              .computeIfAbsent(area, k -> ConcurrentHashMap.newKeySet())
                              .add(e.getAgent().getNodeId());
                        }
                      }

                      @Override
                      public void onError(Throwable t) {
                        watches.remove(area, w); // the next tick opens another
                      }

                      @Override
                      public void onCompleted() {
                        watches.remove(area, w);
                      }
                    }));
  }

  /** Reads the dirty hosts again and patches them into their areas' listings. */
  private void flush() {
    for (String area : List.copyOf(dirty.keySet())) {
      Set<String> nodes = dirty.remove(area);
      Listing l = listings.get(area);
      if (nodes == null || nodes.isEmpty() || l == null) {
        continue;
      }
      if (nodes.size() > PATCH_LIMIT) {
        refresh(area);
        continue;
      }
      Optional<Areas.Candidate> c =
          areas
              .pick(area)
              .flatMap(
                  p -> p.all().stream().filter(x -> x.id().equals(l.controllerId())).findFirst());
      if (c.isEmpty()) {
        continue;
      }
      pool.execute(() -> patch(area, c.get(), nodes));
    }
  }

  private void patch(String area, Areas.Candidate c, Set<String> nodes) {
    Map<String, Optional<Host>> read = new HashMap<>();
    try {
      var stub =
          ControllerServiceGrpc.newBlockingStub(controllers.channel(area, c.api()))
              .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
      for (String node : nodes) {
        try {
          read.put(
              node,
              Optional.of(
                  stub.getHost(
                      io.opsscaffold.api.compat.controller.v1.HostRequest.newBuilder()
                          .setAgentId(node)
                          .build())));
        } catch (StatusRuntimeException e) {
          if (e.getStatus().getCode() != io.grpc.Status.Code.NOT_FOUND) {
            throw e;
          }
          read.put(node, Optional.empty());
        }
      }
    } catch (RuntimeException e) {
      refresh(area); // the next listing has them
      return;
    }
    listings.compute(
        area,
        (k, l) -> {
          if (l == null || !l.controllerId().equals(c.id())) {
            return l;
          }
          Map<String, Host> byId = new java.util.LinkedHashMap<>();
          l.hosts().forEach(h -> byId.put(h.getId(), h));
          read.forEach(
              (node, host) -> {
                if (host.isPresent()) {
                  byId.put(node, host.get());
                } else {
                  byId.remove(node);
                }
              });
          Listing fresh = listing(area, c.id(), new ArrayList<>(byId.values()));
          return new Listing(
              area,
              c.id(),
              fresh.hosts(),
              fresh.agents(),
              fresh.availability(),
              l.listedAtMs(),
              l.failure());
        });
    rebuild();
  }

  /** Lists {@code area} again on a worker, unless that is under way. */
  private void refresh(String area) {
    if (!running.add(area)) {
      return;
    }
    pool.execute(
        () -> {
          try {
            workers.acquire();
            try {
              list(area);
            } finally {
              workers.release();
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } finally {
            running.remove(area);
            rebuild();
          }
        });
  }

  private void list(String area) {
    Optional<Areas.Pick> pick = areas.pick(area);
    if (pick.isEmpty()) {
      note(area, "no online controller in etcd");
      return;
    }
    String last = "";
    List<Areas.Candidate> all = pick.get().all();
    for (int attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        try {
          Thread.sleep(retryInterval.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      Areas.Candidate c = all.get(attempt % all.size());
      try {
        var stub =
            ControllerServiceGrpc.newBlockingStub(controllers.channel(area, c.api()))
                .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
        List<Host> hosts = new ArrayList<>();
        for (int page = 1; ; page++) {
          ListHostsResponse r =
              stub.listHosts(ListHostsRequest.newBuilder().setPage(page).setPageSize(PAGE).build());
          hosts.addAll(r.getAgentsList());
          if (r.getAgentsCount() < PAGE || hosts.size() >= r.getTotal()) {
            break;
          }
        }
        listings.put(area, listing(area, c.id(), hosts));
        listed.incrementAndGet();
        unlisted.remove(area);
        if (failing.remove(area)) {
          LOG.info("area " + area + " listed again, from controller " + c.id());
        }
        return;
      } catch (Controllers.Unreachable e) {
        last = "controller " + c.id() + ": " + e.getMessage();
      } catch (StatusRuntimeException e) {
        last =
            "controller "
                + c.id()
                + " answered "
                + e.getStatus().getCode()
                + Optional.ofNullable(e.getStatus().getDescription())
                    .map(d -> " (" + d + ")")
                    .orElse("");
      }
    }
    note(area, last);
  }

  /** Area listings made since start. */
  long listingsDone() {
    return listed.get();
  }

  /** Area listings that failed (after their retries) since start. */
  long listingsFailed() {
    return unlistable.get();
  }

  private void note(String area, String reason) {
    unlistable.incrementAndGet();
    Listing l = listings.get(area);
    if (l != null) {
      listings.put(area, l.failed(reason));
    } else {
      unlisted.put(area, reason);
    }
    if (failing.add(area)) {
      LOG.warning("area " + area + " cannot be listed (" + reason + "); serving its last listing");
    }
  }

  private Listing listing(String area, String controllerId, List<Host> hosts) {
    List<Agent> agents = new ArrayList<>(hosts.size());
    AreaAvailability.Builder a = AreaAvailability.newBuilder().setArea(area);
    Map<String, Integer> byAvailability = new HashMap<>();
    for (Host h : hosts) {
      agents.add(agent(area, controllerId, h));
      a.setAgentsTotal(a.getAgentsTotal() + 1);
      if ("online".equals(h.getStatus())) {
        a.setAgentsOnline(a.getAgentsOnline() + 1);
      }
      for (Package p : h.getServicesList()) {
        a.setServicesTotal(a.getServicesTotal() + 1);
        if (p.getAvailability() == 0) {
          a.setServicesHealthy(a.getServicesHealthy() + 1);
        }
        byAvailability.merge(availabilityName(p.getAvailability()), 1, Integer::sum);
      }
    }
    a.putAllServicesByAvailability(byAvailability);
    agents.sort(java.util.Comparator.comparing(Agent::getId));
    return new Listing(
        area,
        controllerId,
        List.copyOf(hosts),
        List.copyOf(agents),
        a.build(),
        clock.millis(),
        Optional.empty());
  }

  static String availabilityName(int code) {
    return switch (code) {
      case 0 -> "ON";
      case 1 -> "OFF";
      case 2 -> "NOT_EXIST";
      case 3 -> "NO_DATA";
      default -> "UNKNOWN";
    };
  }

  private static Agent agent(String area, String controllerId, Host h) {
    Agent.Builder b =
        Agent.newBuilder()
            .setId(h.getId())
            .setAgentCode(h.getAgentCode())
            .setArea(area)
            .setControllerId(controllerId)
            .setAddress(h.getAddress())
            .setStatus(h.getStatus())
            .setHealthStatus(h.getHealthStatus())
            .setServiceCount(h.getServicesCount())
            .setVersion(h.getVersion())
            .setHostname(h.getHostname());
    if (h.hasLastHeartbeat()) {
      b.setLastHeartbeat(h.getLastHeartbeat());
    }
    return b.build();
  }

  /** Recomputes the view from the listings (cheap relative to a listing; one writer at a time). */
  private synchronized void rebuild() {
    long now = clock.millis();
    List<Listing> all = new ArrayList<>();
    Map<String, List<Agent>> byCode = new HashMap<>();
    Map<String, Agent> byAreaAndId = new HashMap<>();
    List<String> missing = new ArrayList<>();
    List<StaleArea> stale = new ArrayList<>();
    for (String area : areas.known()) {
      Listing l = listings.get(area);
      if (l == null) {
        missing.add(area);
        continue;
      }
      all.add(l);
      long age = now - l.listedAtMs();
      if (age > ttl.toMillis() || l.failure().isPresent() && age > ttl.toMillis() / 2) {
        stale.add(
            StaleArea.newBuilder()
                .setArea(area)
                .setAge(Durations.fromMillis(age))
                .setReason(l.failure().orElse("not listed again yet"))
                .build());
      }
      for (Agent a : l.agents()) {
        if (!a.getAgentCode().isEmpty()) {
          byCode.computeIfAbsent(a.getAgentCode(), k -> new ArrayList<>(1)).add(a);
        }
        byAreaAndId.put(View.key(area, a.getId()), a);
      }
    }
    view =
        new View(List.copyOf(all), byCode, byAreaAndId, List.copyOf(missing), List.copyOf(stale));
  }

  /** The view now. */
  View view() {
    return view;
  }

  /** Why an area has no listing, if it was tried. */
  Optional<String> whyUnlisted(String area) {
    return Optional.ofNullable(unlisted.get(area));
  }

  /** How old {@code l} is now. */
  com.google.protobuf.Duration age(Listing l) {
    return Durations.fromMillis(clock.millis() - l.listedAtMs());
  }

  @Override
  public void close() {
    watches.values().forEach(w -> w.call().cancel(null));
    ticker.shutdownNow();
    pool.shutdownNow();
  }
}
