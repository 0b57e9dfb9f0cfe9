-- Why the daemon last restarted an agent on its own (a crash or a failed health check).
ALTER TABLE agents ADD COLUMN last_restart_reason VARCHAR(1024) NOT NULL DEFAULT '';
