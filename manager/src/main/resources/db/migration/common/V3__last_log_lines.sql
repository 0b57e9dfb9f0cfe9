-- The last lines of an agent's output before its latest unexpected exit, newline-separated.
ALTER TABLE agents ADD COLUMN last_log_lines VARCHAR(12000) NOT NULL DEFAULT '';
