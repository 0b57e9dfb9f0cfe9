-- PostgreSQL sets a fillfactor on the hot tables here; H2 has no such setting. Kept so that both
-- databases carry the same schema version.
SELECT 1;
