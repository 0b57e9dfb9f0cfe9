package io.opsscaffold.transcoding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PathTemplateTest {

  @Test
  void bindsVariablesAndDecodesThem() {
    PathTemplate t = PathTemplate.parse("/api/v1/nodes/{node_id}/agents/{agent_id}/{operation}");
    assertEquals(
        Map.of("node_id", "n 1", "agent_id", "a1", "operation", "restart"),
        t.match("/api/v1/nodes/n%201/agents/a1/restart").orElseThrow());
    assertTrue(t.match("/api/v1/nodes/n1/agents/a1").isEmpty());
    assertTrue(t.match("/api/v1/nodes/n1/agents/a1/restart/x").isEmpty());
    assertTrue(
        t.match("/api/v1/nodes//agents/a1/restart").isEmpty(), "an empty segment binds nothing");
  }

  @Test
  void literalsAndTrailingSlashesMatchExactly() {
    PathTemplate t = PathTemplate.parse("/api/c/compapi/v2/gse/get_agent_status/");
    assertTrue(t.match("/api/c/compapi/v2/gse/get_agent_status/").isPresent());
    assertTrue(t.match("/api/c/compapi/v2/gse/get_agent_status").isEmpty());
    assertEquals(5, PathTemplate.parse("/api/v1/nodes/{id}/agents").length());
  }

  @Test
  void restVariableTakesTheRestOfThePath() {
    PathTemplate t = PathTemplate.parse("/files/{path=**}");
    assertEquals(Map.of("path", "a/b/c.txt"), t.match("/files/a/b/c.txt").orElseThrow());
    assertThrows(IllegalArgumentException.class, () -> PathTemplate.parse("/files/{path=**}/x"));
    assertThrows(IllegalArgumentException.class, () -> PathTemplate.parse("/v1/{name=shelves/*}"));
    assertThrows(IllegalArgumentException.class, () -> PathTemplate.parse("v1/x"));
  }

  @Test
  void moreLiteralTemplatesAreMoreSpecific() {
    assertTrue(
        PathTemplate.parse("/api/v1/agents/batch/start").literalCount()
            > PathTemplate.parse("/api/v1/agents/{agent_id}/{op}").literalCount());
  }
}
