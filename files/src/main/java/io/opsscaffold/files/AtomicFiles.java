package io.opsscaffold.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Replaces a file so that a reader, or the same program after a crash, sees the old content or the
 * new one, never a part: the content goes to a temporary file in the same directory (created with
 * its final mode, so a secret is never readable by others, not even for a moment), which is
 * fsynced, renamed over the target, and the directory fsynced. Stateless and thread-safe; writes to
 * one target should be serialized by the caller (the last rename wins).
 */
public final class AtomicFiles {
  /** Part of every temporary file's name: never the name of a real file. */
  public static final String TEMP_MARK = ".ops-tmp-";

  /** {@code rw-------}: only the owner reads and writes. */
  public static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private AtomicFiles() {}

  /** Replaces {@code target} with {@code content}, readable and writable by its owner only. */
  public static void write(Path target, byte[] content) throws IOException {
    write(target, content, OWNER_ONLY);
  }

  /**
   * Replaces {@code target} with {@code content}, with {@code mode}. The directory must exist.
   *
   * @throws IOException when the target is a symbolic link (it is never written through) or when
   *     writing fails; the target is then unchanged
   */
  public static void write(Path target, byte[] content, Set<PosixFilePermission> mode)
      throws IOException {
    if (Files.isSymbolicLink(target)) {
      throw new IOException(
          target.getFileName() + " is a symbolic link; it is not written through");
    }
    Path dir = target.toAbsolutePath().getParent();
    Path tmp = dir.resolve("." + target.getFileName() + TEMP_MARK + UUID.randomUUID());
    try {
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
              PosixFilePermissions.asFileAttribute(mode))) {
        Files.setPosixFilePermissions(tmp, mode); // the umask may have taken bits away
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The mode of {@code file} when it is a regular file (not followed through a link); empty
   * otherwise.
   */
  public static Optional<Set<PosixFilePermission>> modeOf(Path file) {
    try {
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        return Optional.empty();
      }
      return Optional.of(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS));
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.empty();
    }
  }

  /**
   * Makes a rename in {@code dir} durable; some file systems cannot, and the rename is atomic
   * anyway.
   */
  private static void syncDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // nothing to do: see above
    }
  }
}
