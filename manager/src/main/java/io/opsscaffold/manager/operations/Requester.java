package io.opsscaffold.manager.operations;

import io.opsscaffold.manager.identity.ApiGuard;
import io.opsscaffold.manager.identity.Principal;

/**
 * Who is asking, for the operations log: the name of the principal the call's credential proved
 * ({@link ApiGuard}), never a name the client declares.
 */
public final class Requester {
  private Requester() {}

  /** The requester of the call on this thread; "anonymous" outside an authenticated call. */
  public static String current() {
    return ApiGuard.current().map(Principal::name).orElse("anonymous");
  }
}
