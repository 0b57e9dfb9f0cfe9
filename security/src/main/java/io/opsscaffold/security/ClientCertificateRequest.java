package io.opsscaffold.security;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * An SSL context whose server-side sockets and engines ask the client for a certificate (without
 * requiring one). Helidon 4.4's blocking-socket listener creates its sockets from the context's
 * socket factory and applies no SSL parameters, so a server that wants optional client certificates
 * must have them asked for here.
 */
public final class ClientCertificateRequest {
  private ClientCertificateRequest() {}

  /** {@code context}, asking clients for a certificate on every server-side handshake. */
  public static SSLContext wrap(SSLContext context) {
    return new Wrapped(context);
  }

  private static final class Wrapped extends SSLContext {
    Wrapped(SSLContext delegate) {
      super(new Spi(delegate), delegate.getProvider(), delegate.getProtocol());
    }
  }

  private static final class Spi extends SSLContextSpi {
    private final SSLContext delegate;

    Spi(SSLContext delegate) {
      this.delegate = delegate;
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr)
        throws KeyManagementException {
      delegate.init(km, tm, sr);
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      return new AskingSocketFactory(delegate.getSocketFactory());
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
      return delegate.getServerSocketFactory();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
      return asking(delegate.createSSLEngine());
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
      return asking(delegate.createSSLEngine(host, port));
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
      return delegate.getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
      return delegate.getClientSessionContext();
    }

    @Override
    protected SSLParameters engineGetDefaultSSLParameters() {
      return delegate.getDefaultSSLParameters();
    }

    @Override
    protected SSLParameters engineGetSupportedSSLParameters() {
      return delegate.getSupportedSSLParameters();
    }

    private static SSLEngine asking(SSLEngine engine) {
      engine.setWantClientAuth(true);
      return engine;
    }
  }

  /** Marks each server-mode socket it makes as wanting a client certificate. */
  private static final class AskingSocketFactory extends SSLSocketFactory {
    private final SSLSocketFactory delegate;

    AskingSocketFactory(SSLSocketFactory delegate) {
      this.delegate = delegate;
    }

    private static Socket asking(Socket socket) {
      if (socket instanceof SSLSocket ssl && !ssl.getUseClientMode()) {
        ssl.setWantClientAuth(true);
      }
      return socket;
    }

    @Override
    public Socket createSocket(Socket s, InputStream consumed, boolean autoClose)
        throws IOException {
      return asking(delegate.createSocket(s, consumed, autoClose));
    }

    @Override
    public Socket createSocket(Socket s, String host, int port, boolean autoClose)
        throws IOException {
      return asking(delegate.createSocket(s, host, port, autoClose));
    }

    @Override
    public String[] getDefaultCipherSuites() {
      return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return delegate.getSupportedCipherSuites();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress local, int localPort)
        throws IOException {
      return delegate.createSocket(host, port, local, localPort);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort)
        throws IOException {
      return delegate.createSocket(host, port, local, localPort);
    }
  }
}
