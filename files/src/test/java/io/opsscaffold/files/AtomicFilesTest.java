package io.opsscaffold.files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir Path dir;

  private long leftovers() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().contains(AtomicFiles.TEMP_MARK)).count();
    }
  }

  @Test
  void aNewFileIsWrittenForItsOwnerOnlyAndNothingIsLeftBehind() throws Exception {
    Path f = dir.resolve("token");
    AtomicFiles.write(f, "secret".getBytes(StandardCharsets.UTF_8));
    assertEquals("secret", Files.readString(f));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    assertEquals(0, leftovers());
  }

  @Test
  void aReplacedFileTakesTheModeItIsGiven() throws Exception {
    Path f = Files.writeString(dir.resolve("agent.yaml"), "old");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    AtomicFiles.write(
        f, "new".getBytes(StandardCharsets.UTF_8), AtomicFiles.modeOf(f).orElseThrow());
    assertEquals("new", Files.readString(f));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
  }

  @Test
  void aSymbolicLinkIsNeverWrittenThrough() throws Exception {
    Path outside = Files.writeString(dir.resolve("outside"), "untouched");
    Path link = Files.createSymbolicLink(dir.resolve("link"), outside);
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(link, new byte[] {1}));
    assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
    assertEquals("untouched", Files.readString(outside));
    assertEquals(Optional.empty(), AtomicFiles.modeOf(link));
  }

  @Test
  void aFailedWriteLeavesTheOldContent() throws Exception {
    Path f = Files.writeString(dir.resolve("state.json"), "old");
    Path missingDir = dir.resolve("gone").resolve("x");
    assertThrows(IOException.class, () -> AtomicFiles.write(missingDir, new byte[] {1}));
    assertArrayEquals("old".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(f));
    assertEquals(0, leftovers());
  }
}
