-- Nodes: one row per host that ever connected a daemon. Times are epoch milliseconds (UTC).
CREATE TABLE nodes (
    node_id            VARCHAR(128) NOT NULL PRIMARY KEY,
    hostname           VARCHAR(255) NOT NULL,
    ip                 VARCHAR(64)  NOT NULL,
    os                 VARCHAR(128) NOT NULL,
    arch               VARCHAR(64)  NOT NULL,
    daemon_version     VARCHAR(64)  NOT NULL,
    area               VARCHAR(128) NOT NULL,
    zone               VARCHAR(128) NOT NULL,
    cloud_id           BIGINT       NOT NULL,
    business           VARCHAR(128) NOT NULL,
    labels_json        VARCHAR(8192) NOT NULL,
    connectivity       VARCHAR(16)  NOT NULL,
    session_id         VARCHAR(64),
    connected_since_ms BIGINT,
    last_seen_ms       BIGINT       NOT NULL,
    registered_ms      BIGINT       NOT NULL
);

CREATE INDEX nodes_area ON nodes (area);

-- Agents: the latest state of each supervised agent, keyed by (node, agent). Hot table: written with
-- batched MERGEs on every state change.
CREATE TABLE agents (
    node_id              VARCHAR(128) NOT NULL,
    agent_id             VARCHAR(128) NOT NULL,
    type                 VARCHAR(128) NOT NULL,
    lifecycle            VARCHAR(16)  NOT NULL,
    health               VARCHAR(24)  NOT NULL,
    pid                  BIGINT       NOT NULL,
    started_ms           BIGINT,
    last_heartbeat_ms    BIGINT,
    heartbeat_timeout_ms BIGINT       NOT NULL,
    last_exit_code       INTEGER,
    last_exit_ms         BIGINT,
    restart_count        BIGINT       NOT NULL,
    message              VARCHAR(1024) NOT NULL,
    updated_ms           BIGINT       NOT NULL,
    PRIMARY KEY (node_id, agent_id)
);
