-- The latest host measurements a node's daemon sent (protobuf JSON of opsscaffold.status.v1.HostStats).
ALTER TABLE nodes ADD COLUMN host_stats_json VARCHAR(4096) NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN host_stats_ms BIGINT NOT NULL DEFAULT 0;
