package io.opsscaffold.manager.persistence;

import io.opsscaffold.manager.identity.ApiToken;
import io.opsscaffold.manager.identity.EnrollmentToken;
import io.opsscaffold.manager.identity.IdentityRepository;
import io.opsscaffold.manager.identity.Labels;
import io.opsscaffold.manager.identity.NodeCredential;
import io.opsscaffold.manager.identity.Role;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** {@link IdentityRepository} over JDBC. */
public final class JdbcIdentityRepository implements IdentityRepository {
  private static final String TOKEN_COLUMNS =
      "token_id, secret_hash, description, area, zone, business, created_ms, expires_ms, max_uses,"
          + " uses, revoked_ms";
  private static final String CREDENTIAL_COLUMNS =
      "node_id, serial, previous_serial, not_after_ms, enrolled_ms, token_id, area, zone, business,"
          + " revoked_ms";
  private static final String API_COLUMNS =
      "token_id, secret_hash, name, role, areas, created_ms, expires_ms, last_used_ms, revoked_ms";

  private final Database database;

  public JdbcIdentityRepository(Database database) {
    this.database = database;
  }

  @Override
  public void insertEnrollmentToken(EnrollmentToken t) {
    Jdbc.update(
        database,
        "INSERT INTO enrollment_tokens ("
            + TOKEN_COLUMNS
            + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        t.tokenId(),
        t.secretHash(),
        t.description(),
        t.labels().area(),
        t.labels().zone(),
        t.labels().business(),
        t.createdMs(),
        t.expiresMs(),
        t.maxUses(),
        t.uses(),
        t.revokedMs());
  }

  @Override
  public Optional<EnrollmentToken> enrollmentToken(String tokenId) {
    return Jdbc.query(
            database,
            "SELECT " + TOKEN_COLUMNS + " FROM enrollment_tokens WHERE token_id = ?",
            JdbcIdentityRepository::token,
            tokenId)
        .stream()
        .findFirst();
  }

  @Override
  public List<EnrollmentToken> enrollmentTokens() {
    return Jdbc.query(
        database,
        "SELECT " + TOKEN_COLUMNS + " FROM enrollment_tokens ORDER BY created_ms DESC, token_id",
        JdbcIdentityRepository::token);
  }

  @Override
  public boolean spendEnrollmentToken(String tokenId, long nowMs) {
    return Jdbc.update(
            database,
            "UPDATE enrollment_tokens SET uses = uses + 1 WHERE token_id = ? AND revoked_ms = 0"
                + " AND expires_ms > ? AND (max_uses = 0 OR uses < max_uses)",
            tokenId,
            nowMs)
        == 1;
  }

  @Override
  public boolean revokeEnrollmentToken(String tokenId, long nowMs) {
    Jdbc.update(
        database,
        "UPDATE enrollment_tokens SET revoked_ms = ? WHERE token_id = ? AND revoked_ms = 0",
        nowMs,
        tokenId);
    return enrollmentToken(tokenId).isPresent();
  }

  @Override
  public Optional<NodeCredential> credential(String nodeId) {
    return Jdbc.query(
            database,
            "SELECT " + CREDENTIAL_COLUMNS + " FROM node_credentials WHERE node_id = ?",
            JdbcIdentityRepository::credential,
            nodeId)
        .stream()
        .findFirst();
  }

  @Override
  public List<NodeCredential> credentials() {
    return Jdbc.query(
        database,
        "SELECT " + CREDENTIAL_COLUMNS + " FROM node_credentials ORDER BY node_id",
        JdbcIdentityRepository::credential);
  }

  @Override
  public void saveCredential(NodeCredential c) {
    Jdbc.replace(
        database,
        "node_credentials",
        "node_id",
        CREDENTIAL_COLUMNS,
        c.nodeId(),
        c.serial(),
        c.previousSerial(),
        c.notAfterMs(),
        c.enrolledMs(),
        c.tokenId(),
        c.labels().area(),
        c.labels().zone(),
        c.labels().business(),
        c.revokedMs());
  }

  @Override
  public boolean renewCredential(String nodeId, String serial, long notAfterMs) {
    return Jdbc.update(
            database,
            "UPDATE node_credentials SET previous_serial = serial, serial = ?, not_after_ms = ?"
                + " WHERE node_id = ? AND revoked_ms = 0",
            serial,
            notAfterMs,
            nodeId)
        == 1;
  }

  @Override
  public boolean revokeCredential(String nodeId, long nowMs) {
    Jdbc.update(
        database,
        "UPDATE node_credentials SET revoked_ms = ? WHERE node_id = ? AND revoked_ms = 0",
        nowMs,
        nodeId);
    return credential(nodeId).isPresent();
  }

  @Override
  public boolean deleteCredential(String nodeId) {
    return Jdbc.update(database, "DELETE FROM node_credentials WHERE node_id = ?", nodeId) == 1;
  }

  @Override
  public void insertApiToken(ApiToken t) {
    Jdbc.update(
        database,
        "INSERT INTO api_tokens (" + API_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        t.tokenId(),
        t.secretHash(),
        t.name(),
        t.role().text(),
        String.join(",", t.areas()),
        t.createdMs(),
        t.expiresMs(),
        t.lastUsedMs(),
        t.revokedMs());
  }

  @Override
  public Optional<ApiToken> apiToken(String tokenId) {
    return Jdbc.query(
            database,
            "SELECT " + API_COLUMNS + " FROM api_tokens WHERE token_id = ?",
            JdbcIdentityRepository::apiToken,
            tokenId)
        .stream()
        .findFirst();
  }

  @Override
  public long apiTokenCount() {
    return Jdbc.count(database, "SELECT COUNT(*) FROM api_tokens");
  }

  @Override
  public List<ApiToken> apiTokens() {
    return Jdbc.query(
        database,
        "SELECT " + API_COLUMNS + " FROM api_tokens ORDER BY created_ms DESC, token_id",
        JdbcIdentityRepository::apiToken);
  }

  @Override
  public boolean revokeApiToken(String tokenId, long nowMs) {
    Jdbc.update(
        database,
        "UPDATE api_tokens SET revoked_ms = ? WHERE token_id = ? AND revoked_ms = 0",
        nowMs,
        tokenId);
    return apiToken(tokenId).isPresent();
  }

  @Override
  public void touchApiToken(String tokenId, long nowMs) {
    Jdbc.update(
        database, "UPDATE api_tokens SET last_used_ms = ? WHERE token_id = ?", nowMs, tokenId);
  }

  private static EnrollmentToken token(ResultSet rs) throws SQLException {
    return new EnrollmentToken(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        new Labels(rs.getString(4), rs.getString(5), rs.getString(6)),
        rs.getLong(7),
        rs.getLong(8),
        rs.getInt(9),
        rs.getInt(10),
        rs.getLong(11));
  }

  private static NodeCredential credential(ResultSet rs) throws SQLException {
    return new NodeCredential(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        rs.getLong(4),
        rs.getLong(5),
        rs.getString(6),
        new Labels(rs.getString(7), rs.getString(8), rs.getString(9)),
        rs.getLong(10));
  }

  private static ApiToken apiToken(ResultSet rs) throws SQLException {
    String areas = rs.getString(5);
    return new ApiToken(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        Role.parse(rs.getString(4)).orElse(Role.VIEWER),
        areas.isEmpty() ? List.of() : Arrays.asList(areas.split(",")),
        rs.getLong(6),
        rs.getLong(7),
        rs.getLong(8),
        rs.getLong(9));
  }
}
