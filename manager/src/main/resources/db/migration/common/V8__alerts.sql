-- Alerts: an agent that left ON. resolved_ms is 0 while the alert is open; at most one open
-- alert per agent (enforced by the alert engine, the only writer).
CREATE TABLE alerts (
    alert_id     VARCHAR(64)   NOT NULL PRIMARY KEY,
    node_id      VARCHAR(128)  NOT NULL,
    agent_id     VARCHAR(128)  NOT NULL,
    area         VARCHAR(128)  NOT NULL,
    kind         VARCHAR(16)   NOT NULL,
    reason       VARCHAR(1024) NOT NULL,
    opened_ms    BIGINT        NOT NULL,
    last_ms      BIGINT        NOT NULL,
    repeat_count INTEGER       NOT NULL,
    resolved_ms  BIGINT        NOT NULL
);

CREATE INDEX alerts_open ON alerts (resolved_ms, node_id, agent_id);
CREATE INDEX alerts_opened ON alerts (opened_ms);
