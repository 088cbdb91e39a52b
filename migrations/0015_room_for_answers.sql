-- Executions rows are inserted pending (ids and the region's system prompt, ~450 bytes) and
-- more than double when their answer is written (~1 kB with its analysis and receipt hashes).
-- An update stays on its row's page (a HOT update: no index entries, less to write) only if the
-- page has room for the new version. At fillfactor 30 a page took five pending rows, too many
-- for their answers: on a 100,000-cell job a quarter to over a third of the outcome writes moved
-- their row to another page and added an entry to each of the four indexes, and the table
-- grew 40% larger.
-- New pages are filled to 20% (three pending rows), which leaves room for every answer.
ALTER TABLE executions SET (fillfactor = 20);
