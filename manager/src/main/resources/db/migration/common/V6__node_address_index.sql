-- Platforms look hosts up by address (GSE-compatible endpoints, availability per host list).
CREATE INDEX nodes_address ON nodes (ip, cloud_id);
CREATE INDEX agents_agent_id ON agents (agent_id);
