package io.opsscaffold.security;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * PEM text to and from keys, certificates and certificate requests: the form every file of the
 * model is in, readable by openssl and curl. Stateless.
 */
public final class Pem {
  private Pem() {}

  /** PEM text of {@code objects} (certificates, keys, requests), one block each. */
  public static String encode(Object... objects) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      for (Object o : objects) {
        if (o instanceof PrivateKey key) {
          w.writeObject(new JcaPKCS8Generator(key, null)); // "PRIVATE KEY", as openssl writes it
        } else {
          w.writeObject(o);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** Every certificate in {@code pem}, in order. */
  public static List<X509Certificate> certificates(String pem) {
    List<X509Certificate> out = new ArrayList<>();
    for (Object o : read(pem)) {
      if (o instanceof X509CertificateHolder h) {
        try {
          out.add(new JcaX509CertificateConverter().getCertificate(h));
        } catch (CertificateException e) {
          throw new IllegalArgumentException(
              "a certificate in the PEM text is not valid: " + e.getMessage(), e);
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no certificate in the PEM text");
    }
    return out;
  }

  /** The private key in {@code pem} (PKCS#8, or a traditional key pair). */
  public static PrivateKey privateKey(String pem) {
    for (Object o : read(pem)) {
      try {
        if (o instanceof PrivateKeyInfo info) {
          return new JcaPEMKeyConverter().getPrivateKey(info);
        }
        if (o instanceof PEMKeyPair pair) {
          return new JcaPEMKeyConverter().getKeyPair(pair).getPrivate();
        }
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "the private key in the PEM text is not valid: " + e.getMessage(), e);
      }
    }
    throw new IllegalArgumentException("no private key in the PEM text");
  }

  /** The certificate request in {@code pem}. */
  public static PKCS10CertificationRequest request(String pem) {
    for (Object o : read(pem)) {
      if (o instanceof PKCS10CertificationRequest r) {
        return r;
      }
    }
    throw new IllegalArgumentException("no certificate request in the PEM text");
  }

  private static List<Object> read(String pem) {
    List<Object> out = new ArrayList<>();
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      for (Object o; (o = p.readObject()) != null; ) {
        out.add(o);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("the PEM text cannot be read: " + e.getMessage(), e);
    }
    return out;
  }
}
