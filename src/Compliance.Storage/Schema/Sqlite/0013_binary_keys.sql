-- Ids and hashes compare byte for byte: SQL Server's script 0013 gives its id and hash columns a binary collation.
-- SQLite's columns have compared that way from the start (its default collation, BINARY), so nothing changes here;
-- the script keeps both providers at the same schema version.
SELECT 1;
