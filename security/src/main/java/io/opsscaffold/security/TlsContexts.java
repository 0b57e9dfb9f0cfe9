package io.opsscaffold.security;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** SSL contexts from keys and certificates held in memory (no key store files). Stateless. */
public final class TlsContexts {
  private static final char[] NO_PASSWORD = new char[0];

  private TlsContexts() {}

  /**
   * A context that presents {@code identity} (when given) and trusts exactly the certificates in
   * {@code trust} as roots, for TLS 1.3 and 1.2.
   */
  public static SSLContext create(
      Optional<CertificateAuthority.Issued> identity, List<X509Certificate> trust) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      KeyManagerFactory kmf = null;
      if (identity.isPresent()) {
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore(identity.get().key(), identity.get().chain()), NO_PASSWORD);
      }
      ctx.init(
          kmf == null ? null : kmf.getKeyManagers(),
          new javax.net.ssl.TrustManager[] {trustManager(trust)},
          new SecureRandom());
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not set up TLS: " + e.getMessage(), e);
    }
  }

  /**
   * A context that presents what {@code keys} chooses (it may change between handshakes) and trusts
   * exactly {@code trust} as roots.
   */
  public static SSLContext create(javax.net.ssl.KeyManager keys, List<X509Certificate> trust) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(
          new javax.net.ssl.KeyManager[] {keys},
          new javax.net.ssl.TrustManager[] {trustManager(trust)},
          new SecureRandom());
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not set up TLS: " + e.getMessage(), e);
    }
  }

  /** A trust manager that trusts exactly {@code roots}. */
  public static X509TrustManager trustManager(List<X509Certificate> roots) {
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      for (int i = 0; i < roots.size(); i++) {
        ks.setCertificateEntry("root-" + i, roots.get(i));
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      for (var tm : tmf.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          return x;
        }
      }
      throw new IllegalStateException("no X.509 trust manager");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("could not set up TLS trust: " + e.getMessage(), e);
    }
  }

  private static KeyStore keyStore(PrivateKey key, List<X509Certificate> chain)
      throws GeneralSecurityException {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("key", key, NO_PASSWORD, chain.toArray(X509Certificate[]::new));
      return ks;
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }
}
