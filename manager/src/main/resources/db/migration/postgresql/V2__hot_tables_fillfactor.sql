-- Leave free space in each page so that status updates stay on the page (HOT updates): the agents
-- and nodes rows are rewritten on every change and no indexed column but the key exists.
ALTER TABLE agents SET (fillfactor = 70);
ALTER TABLE nodes SET (fillfactor = 80);
