-- Node identity (issue #16): enrollment tokens, each enrolled node's certificate, API tokens.
-- Secrets are stored only as SHA-256 hashes (hex) of high-entropy random values.
CREATE TABLE enrollment_tokens (
    token_id     VARCHAR(32)   NOT NULL PRIMARY KEY,
    secret_hash  VARCHAR(64)   NOT NULL,
    description  VARCHAR(256)  NOT NULL,
    area         VARCHAR(128)  NOT NULL,
    zone         VARCHAR(128)  NOT NULL,
    business     VARCHAR(128)  NOT NULL,
    created_ms   BIGINT        NOT NULL,
    expires_ms   BIGINT        NOT NULL,
    max_uses     INTEGER       NOT NULL,
    uses         INTEGER       NOT NULL,
    revoked_ms   BIGINT        NOT NULL
);

-- One row per enrolled node: the serial of its current certificate, and of the one it renewed
-- from (accepted until that one expires). revoked_ms > 0: every certificate of the node is refused.
CREATE TABLE node_credentials (
    node_id          VARCHAR(128)  NOT NULL PRIMARY KEY,
    serial           VARCHAR(64)   NOT NULL,
    previous_serial  VARCHAR(64)   NOT NULL,
    not_after_ms     BIGINT        NOT NULL,
    enrolled_ms      BIGINT        NOT NULL,
    token_id         VARCHAR(32)   NOT NULL,
    area             VARCHAR(128)  NOT NULL,
    zone             VARCHAR(128)  NOT NULL,
    business         VARCHAR(128)  NOT NULL,
    revoked_ms       BIGINT        NOT NULL
);

CREATE TABLE api_tokens (
    token_id      VARCHAR(32)   NOT NULL PRIMARY KEY,
    secret_hash   VARCHAR(64)   NOT NULL,
    name          VARCHAR(128)  NOT NULL,
    role          VARCHAR(16)   NOT NULL,
    areas         VARCHAR(1024) NOT NULL,
    created_ms    BIGINT        NOT NULL,
    expires_ms    BIGINT        NOT NULL,
    last_used_ms  BIGINT        NOT NULL,
    revoked_ms    BIGINT        NOT NULL
);
