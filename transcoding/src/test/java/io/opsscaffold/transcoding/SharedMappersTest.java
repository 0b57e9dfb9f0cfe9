package io.opsscaffold.transcoding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.helidon.common.mapper.MapperManager;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import org.junit.jupiter.api.Test;

class SharedMappersTest {
  @Test
  void afterInstallEveryLookupReturnsTheSameManagerAndItStillMaps() {
    SharedMappers.install();
    SharedMappers.install(); // a second call (a second server in one JVM) changes nothing
    MapperManager global = MapperManager.global();
    assertSame(
        global, MapperManager.global(), "Helidon would otherwise build a new manager per lookup");
    // What Helidon's HTTP/1.1 connection does with every request's Content-Length.
    assertEquals(1234L, HeaderValues.create(HeaderNames.CONTENT_LENGTH, "1234").get(long.class));
  }
}
