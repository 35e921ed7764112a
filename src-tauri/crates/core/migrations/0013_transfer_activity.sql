-- Schema version 13: a transfer ("Synchronize Google Calendar") is one entry of the sync
-- activity log, which opens onto the transfer's items (backfill_items already hold them),
-- instead of one entry per imported event. A 10,000-event import wrote 10,000 activity
-- rows (and their index entries) that only pushed everything else out of Sync activity.
--
-- No foreign key: a transfer's jobs are forgotten on Remove Google Account while the log
-- keeps what happened; its entry then opens onto no items.
ALTER TABLE activity ADD COLUMN transfer_id INTEGER;

-- The transfer's entry is replaced as the transfer goes on (started, running, finished).
CREATE INDEX activity_by_transfer ON activity (transfer_id) WHERE transfer_id IS NOT NULL;

-- No query reads the log by time or by appointment (it is paged and pruned by id), so
-- these indices only cost every entry written. The query plan test
-- (store::query_plans) holds every index on appointments and activity to a query.
DROP INDEX activity_at;
DROP INDEX activity_appointment;
