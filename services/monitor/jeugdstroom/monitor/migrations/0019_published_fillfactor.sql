-- monitor.published is rewritten row by row by every publication (publisher.py: each changed cell's digest and
-- source), never in an indexed column: with room left on each page the new version of a row goes to the same page
-- without new index entries (a HOT update), and the versions it replaces are pruned there. At the default
-- fillfactor (100) nearly every update moved the row to another page and added an entry to both indexes: rewriting
-- 33,714 published rows took 0.39–0.57 s of PostgreSQL CPU, 0.13–0.16 s at fillfactor 50, and the table stayed
-- half the size of the one at 100 after three rewrites (its dead versions pruned in place instead of left to
-- autovacuum). Pages written from now on keep the room; existing pages get it when the table is rewritten.
ALTER TABLE monitor.published SET (fillfactor = 50);
