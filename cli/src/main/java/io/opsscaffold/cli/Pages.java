package io.opsscaffold.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/** Every page of a listing, read for the user. */
final class Pages {
  /** One page as the API answers it: its items and the listing's total. */
  record Page<T>(List<T> items, long total) {}

  static final int SIZE = 500;

  private Pages() {}

  /** All items, asking {@code page} for pages 1, 2, … of {@link #SIZE} until none are left. */
  static <T> List<T> all(IntFunction<Page<T>> page) {
    List<T> out = new ArrayList<>();
    for (int n = 1; ; n++) {
      Page<T> p = page.apply(n);
      out.addAll(p.items());
      if (p.items().size() < SIZE || out.size() >= p.total()) {
        return out;
      }
    }
  }
}
