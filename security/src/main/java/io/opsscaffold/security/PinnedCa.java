package io.opsscaffold.security;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Trust on first contact without a CA file, as k3s join tokens do: a daemon given the manager CA's
 * fingerprint asks the manager for its certificate chain, takes the CA certificate whose
 * fingerprint matches, and checks that the manager's certificate is signed by it. A manager that
 * presents any other CA is refused before a byte of the daemon's own is sent.
 */
public final class PinnedCa {
  private PinnedCa() {}

  /**
   * The manager's CA, fetched from {@code host:port} and checked against {@code fingerprint}.
   *
   * @throws IOException when the manager cannot be reached or answers without TLS
   * @throws SecurityException when no certificate the manager presents has that fingerprint, or its
   *     certificate is not signed by the one that has (the message names both fingerprints)
   */
  public static X509Certificate fetch(String host, int port, String fingerprint, Duration timeout)
      throws IOException {
    String pinned = Fingerprints.parse(fingerprint);
    Certificate[] chain;
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      // Accepts any chain for this one handshake: the chain is judged below, by the fingerprint.
      ctx.init(null, new TrustManager[] {new Capture()}, null);
      try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
        s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
        s.setSoTimeout((int) timeout.toMillis());
        s.startHandshake();
        chain = s.getSession().getPeerCertificates();
      }
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    Optional<X509Certificate> ca = Optional.empty();
    StringBuilder seen = new StringBuilder();
    for (Certificate c : chain) {
      if (c instanceof X509Certificate x) {
        String fp = Fingerprints.sha256(x);
        seen.append(seen.isEmpty() ? "" : ", ").append(fp);
        if (fp.equals(pinned)) {
          ca = Optional.of(x);
        }
      }
    }
    if (ca.isEmpty()) {
      throw new SecurityException(
          "the manager at "
              + host
              + ":"
              + port
              + " presented certificates with fingerprints "
              + seen
              + ", none of them the pinned CA "
              + pinned
              + "; refusing to talk to it");
    }
    try {
      ((X509Certificate) chain[0]).verify(ca.get().getPublicKey());
      ca.get().checkValidity();
    } catch (java.security.GeneralSecurityException e) {
      throw new SecurityException(
          "the manager's certificate is not signed by the pinned CA "
              + pinned
              + ": "
              + e.getMessage());
    }
    return ca.get();
  }

  /** Accepts every chain; the caller judges the chain itself. */
  private static final class Capture implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
