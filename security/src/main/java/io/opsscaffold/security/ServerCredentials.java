package io.opsscaffold.security;

import io.opsscaffold.files.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The manager's own server certificate, kept beside its CA ({@code server.key}, 0600, and {@code
 * server.crt}, the chain): reused across restarts while it is signed by the CA, covers every name
 * the manager answers to, and has more than {@code renewBefore} left; issued anew otherwise.
 */
public final class ServerCredentials {
  private static final Logger LOG = Logger.getLogger(ServerCredentials.class.getName());
  static final String KEY_FILE = "server.key";
  static final String CERT_FILE = "server.crt";

  private ServerCredentials() {}

  /**
   * The server key and chain in {@code dir} for {@code names}, issued by {@code ca} when needed.
   *
   * @param validity how long a new certificate is valid
   * @param renewBefore a certificate with less than this left is replaced
   */
  public static CertificateAuthority.Issued ensure(
      Path dir,
      CertificateAuthority ca,
      List<String> names,
      Duration validity,
      Duration renewBefore,
      Clock clock)
      throws IOException {
    Path keyFile = dir.resolve(KEY_FILE);
    Path certFile = dir.resolve(CERT_FILE);
    if (Files.exists(keyFile) && Files.exists(certFile)) {
      try {
        PrivateKey key = Pem.privateKey(Files.readString(keyFile));
        List<X509Certificate> chain = Pem.certificates(Files.readString(certFile));
        X509Certificate leaf = chain.get(0);
        leaf.verify(ca.certificate().getPublicKey());
        boolean fresh = leaf.getNotAfter().toInstant().isAfter(clock.instant().plus(renewBefore));
        if (fresh
            && sans(leaf).containsAll(names.stream().map(ServerCredentials::normalize).toList())) {
          return new CertificateAuthority.Issued(key, chain);
        }
        LOG.info(
            () ->
                "the server certificate "
                    + (fresh
                        ? "does not cover " + names
                        : "expires " + leaf.getNotAfter().toInstant())
                    + "; issuing a new one");
      } catch (GeneralSecurityException | RuntimeException e) {
        LOG.warning(
            () ->
                "the server certificate in "
                    + dir
                    + " is not usable ("
                    + e.getMessage()
                    + "); issuing a new one");
      }
    }
    CertificateAuthority.Issued issued = ca.issueServer("ops-manager", names, validity);
    AtomicFiles.write(keyFile, Pem.encode(issued.key()).getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(
        certFile,
        Pem.encode(issued.chain().toArray()).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-r--r--"));
    return issued;
  }

  /** The DNS names and IP addresses a certificate is valid for. */
  public static Set<String> sans(X509Certificate cert) {
    Set<String> out = new HashSet<>();
    try {
      Collection<List<?>> names = cert.getSubjectAlternativeNames();
      if (names != null) {
        for (List<?> n : names) {
          out.add(normalize(String.valueOf(n.get(1))));
        }
      }
    } catch (CertificateParsingException e) {
      return Set.of();
    }
    return out;
  }

  /**
   * A name as certificates compare it: an address in Java's canonical text, a DNS name in lower
   * case.
   */
  static String normalize(String name) {
    if (CertificateAuthority.isAddress(name)) {
      try {
        String text = java.net.InetAddress.getByName(name).getHostAddress();
        int zone = text.indexOf('%');
        return zone >= 0 ? text.substring(0, zone) : text;
      } catch (java.net.UnknownHostException e) {
        return name;
      }
    }
    return name.toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * The names a manager on this host answers to: its host name, {@code localhost}, the loopback
   * addresses, every address of its interfaces, and {@code extra}.
   */
  public static List<String> hostNames(List<String> extra) {
    Set<String> names = new java.util.LinkedHashSet<>();
    names.add("localhost");
    names.add("127.0.0.1");
    names.add("::1");
    try {
      names.add(java.net.InetAddress.getLocalHost().getHostName());
    } catch (java.net.UnknownHostException e) {
      // no host name: the addresses below still work
    }
    try {
      for (var nif : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
        for (var a : java.util.Collections.list(nif.getInetAddresses())) {
          String text = a.getHostAddress();
          int zone = text.indexOf('%');
          names.add(zone >= 0 ? text.substring(0, zone) : text);
        }
      }
    } catch (java.net.SocketException e) {
      // no interfaces listed: the loopback names above still work
    }
    names.addAll(extra);
    return new ArrayList<>(names.stream().map(ServerCredentials::normalize).distinct().toList());
  }
}
