-- Everything the stream procedure reads and writes, newest first. Read-only: a SELECT
-- from the stream never advances its offset, so running this script loses nothing.

-- The source readings.
SELECT * FROM RANDOM_VALUES ORDER BY "ID" DESC LIMIT 100;

-- What the stream holds right now (not yet landed by the procedure). An UPDATE shows as
-- a DELETE and an INSERT with METADATA$ISUPDATE = TRUE.
SELECT SYSTEM$STREAM_HAS_DATA('RANDOM_VALUES_STREAM') AS "HAS_DATA";
SELECT METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID, *
FROM RANDOM_VALUES_STREAM
ORDER BY "ID" DESC
LIMIT 100;
-- STALE and STALE_AFTER say how long the stream may stay unconsumed.
SHOW STREAMS LIKE 'RANDOM_VALUES_STREAM';

-- Rows landed by phase 1, per batch.
SELECT * FROM LANDED_READINGS ORDER BY "BATCH_ID" DESC, "ID" DESC LIMIT 100;

-- The results: one row per integrated reading (merged duplicates share one).
SELECT * FROM INTEGRAL_SUM_VALUES ORDER BY "COMPUTED_AT" DESC, "TIMESTAMP" DESC LIMIT 100;

-- Each meter's latest cumulative energy.
SELECT "METER_ID", "METHOD", "TIMESTAMP", "CUMULATIVE_KWH", "BATCH_ID"
FROM INTEGRAL_SUM_VALUES
QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID", "METHOD" ORDER BY "TIMESTAMP" DESC) = 1
ORDER BY "METER_ID", "METHOD";

-- The marker: one row per batch, newest first.
SELECT * FROM STREAM_CONSUMED_MARKER ORDER BY "BATCH_ID" DESC LIMIT 100;

-- Batches landed but not integrated yet (they wait for the next run, oldest first).
SELECT * FROM STREAM_CONSUMED_MARKER WHERE "STATUS" = 'LANDED' ORDER BY "BATCH_ID";

-- Each meter's latest stored state.
SELECT * FROM METER_STATE
QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID", "METHOD" ORDER BY "BATCH_ID" DESC) = 1
ORDER BY "METER_ID", "METHOD";

-- The quarantine: rejected rows with their reason, and how many of each.
SELECT * FROM QUARANTINED_READINGS ORDER BY "BATCH_ID" DESC, "ID" DESC LIMIT 100;
SELECT "REASON", COUNT(*) AS "ROWS", MIN("BATCH_ID") AS "FIRST_BATCH", MAX("BATCH_ID") AS "LAST_BATCH"
FROM QUARANTINED_READINGS
GROUP BY "REASON"
ORDER BY "ROWS" DESC;

-- Reconciliation: resolved quarantine rows, and the audit of every restatement.
SELECT * FROM RESOLVED_READINGS ORDER BY "BATCH_ID" DESC LIMIT 100;
SELECT * FROM RECONCILIATION_AUDIT ORDER BY "BATCH_ID" DESC, "METER_ID" LIMIT 100;

-- The task: its definition and state (started or suspended), then its last runs
-- (7 days; SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY keeps a year, with some latency).
SHOW TASKS LIKE 'INTEGRATE_STREAM_TASK';
SELECT "NAME", "STATE", "SCHEDULED_TIME", "COMPLETED_TIME", "RETURN_VALUE", "ERROR_CODE", "ERROR_MESSAGE"
FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => 'INTEGRATE_STREAM_TASK', RESULT_LIMIT => 100))
ORDER BY "SCHEDULED_TIME" DESC;
