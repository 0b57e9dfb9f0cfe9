-- Whether an agent is meant to be stopped (an operator stopped it, or it does not autostart):
-- its being OFF is then not a failure, and opens no alert.
ALTER TABLE agents ADD COLUMN stop_requested BOOLEAN NOT NULL DEFAULT FALSE;
