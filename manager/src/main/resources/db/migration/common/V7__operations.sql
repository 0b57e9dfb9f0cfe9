-- The operations log: every single and batch operation, who asked, what happened.
CREATE TABLE operations (
    operation_id  VARCHAR(64)   NOT NULL PRIMARY KEY,
    kind          VARCHAR(32)   NOT NULL,
    requested_by  VARCHAR(256)  NOT NULL,
    requested_ms  BIGINT        NOT NULL,
    finished_ms   BIGINT        NOT NULL,
    result        VARCHAR(16)   NOT NULL,
    total         INTEGER       NOT NULL,
    success       INTEGER       NOT NULL,
    failed        INTEGER       NOT NULL,
    results_json  TEXT          NOT NULL,
    trace_id      VARCHAR(32)   NOT NULL
);

CREATE INDEX operations_requested ON operations (requested_ms);
