package io.opsscaffold.manager;

import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One gRPC service served by several feature adapters: each adapter implements the generated {@code
 * AsyncService} interface for the RPCs of its feature only (the others keep the interface's
 * UNIMPLEMENTED default), and {@link #compose} takes each RPC from the one adapter that implements
 * it. The wire keeps one service; the code keeps one adapter per feature. A method implemented by
 * no adapter, or by two, stops the manager at start (and fails its tests).
 */
final class ServiceParts {
  private ServiceParts() {}

  /**
   * @param descriptor the service, e.g. {@code FleetServiceGrpc.getServiceDescriptor()}
   * @param api the generated {@code AsyncService} interface
   * @param bind the generated {@code bindService(AsyncService)}
   * @param parts the feature adapters
   * @throws IllegalStateException naming every RPC implemented by none or by several adapters
   */
  static <S> ServerServiceDefinition compose(
      ServiceDescriptor descriptor,
      Class<S> api,
      Function<S, ServerServiceDefinition> bind,
      List<? extends S> parts) {
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor);
    List<String> problems = new ArrayList<>();
    for (MethodDescriptor<?, ?> method : descriptor.getMethods()) {
      String rpc = method.getBareMethodName();
      List<? extends S> owners =
          parts.stream().filter(p -> implementsRpc(p.getClass(), api, rpc)).toList();
      if (owners.size() != 1) {
        problems.add(
            rpc
                + " is implemented by "
                + (owners.isEmpty()
                    ? "no adapter"
                    : owners.stream().map(o -> o.getClass().getSimpleName()).toList()));
        continue;
      }
      ServerMethodDefinition<?, ?> definition =
          bind.apply(owners.get(0)).getMethod(method.getFullMethodName());
      b.addMethod(definition);
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException(descriptor.getName() + ": " + String.join("; ", problems));
    }
    return b.build();
  }

  /** Whether {@code type} overrides the interface's default method for {@code rpc}. */
  private static boolean implementsRpc(Class<?> type, Class<?> api, String rpc) {
    String name = Character.toLowerCase(rpc.charAt(0)) + rpc.substring(1);
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name)
          && !m.getDeclaringClass().equals(api)
          && api.isAssignableFrom(m.getDeclaringClass())) {
        return true;
      }
    }
    return false;
  }
}
