package io.opsscaffold.security;

import java.security.KeyPair;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * PKCS#10 certificate requests: how a node asks for a certificate for a key that never leaves it.
 */
public final class CertificateRequests {
  private CertificateRequests() {}

  /** A request for {@code CN=<commonName>}, signed by {@code pair}'s private key. */
  public static PKCS10CertificationRequest create(KeyPair pair, String commonName) {
    try {
      return new JcaPKCS10CertificationRequestBuilder(
              new X500Name("CN=" + commonName), pair.getPublic())
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
    } catch (OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
  }
}
