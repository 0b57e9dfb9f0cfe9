package io.opsscaffold.manager.identity;

import java.util.List;

/**
 * Who makes an API call, as its credential proved.
 *
 * @param name the token's name
 * @param areas the areas it may act on; empty = all
 */
public record Principal(String tokenId, String name, Role role, List<String> areas) {
  public Principal {
    areas = List.copyOf(areas);
  }
}
