-- Every object the procedures need, in dependency order. Safe to run again:
-- tables, stage and stream are created only if missing (replacing a table would drop
-- its rows; replacing the stream would reset its offset and skip unconsumed readings),
-- while the procedures and the task are replaced so a re-run picks up a new version.
--
-- Run it in the target database and schema (USE DATABASE ...; USE SCHEMA ...;), e.g.
--   snow sql -f procedure/sql/setup.sql
-- or from Python: `energy-integral deploy` (runs this script, registering the procedures
-- through Snowpark instead of the CREATE PROCEDURE statements below, after putting both
-- archives on the stage).
--
-- Each CREATE PROCEDURE imports two archives from the stage. `snow snowpark build` at
-- the repository root makes them (src.zip holds energy_integral/, procedure.zip holds
-- energy_integral_snowflake/); `snow snowpark deploy --replace` uploads them and creates
-- the same procedures, so with the CLI this script's CREATE PROCEDUREs are redundant.
-- Without it: PUT file://src.zip @ENERGY_INTEGRAL_STAGE AUTO_COMPRESS = FALSE; (and
-- procedure.zip likewise) before running this script.
--
-- Object names here are the defaults; energy_integral_snowflake.sql renders the script
-- with other names (as quoted identifiers) when they are configured.

CREATE STAGE IF NOT EXISTS ENERGY_INTEGRAL_STAGE
    COMMENT = 'energy_integral: archives the stream procedure imports';

-- The source readings (the seed system's table). Natural key: ID.
CREATE TABLE IF NOT EXISTS RANDOM_VALUES (
    "ID" NUMBER(38,0) NOT NULL,
    "METER_ID" VARCHAR DEFAULT 'default',
    "TIMESTAMP" TIMESTAMP_NTZ(9),
    "KW" FLOAT
);

-- Phase 1 copies the stream's rows here under a batch id, in the same transaction that
-- writes the marker row: the only statement that advances the stream.
-- Natural key: (BATCH_ID, ROW_ID, ACTION).
CREATE TABLE IF NOT EXISTS LANDED_READINGS (
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "ROW_ID" VARCHAR,
    "ACTION" VARCHAR NOT NULL,
    "IS_UPDATE" BOOLEAN NOT NULL,
    "ID" NUMBER(38,0),
    "METER_ID" VARCHAR,
    "TIMESTAMP" TIMESTAMP_NTZ(9),
    "KW" FLOAT,
    "LANDED_AT" TIMESTAMP_NTZ(9) NOT NULL
);

-- One row per integrated reading. Natural key: (METER_ID, TIMESTAMP, METHOD): readings of a
-- meter at one time accepted by ON_DUPLICATE = 'mean' share one row, KW their mean; by
-- 'step', the step's last row with its own KW.
CREATE TABLE IF NOT EXISTS INTEGRAL_SUM_VALUES (
    "METER_ID" VARCHAR NOT NULL,
    "TIMESTAMP" TIMESTAMP_NTZ(9) NOT NULL,
    "KW" FLOAT NOT NULL,
    "INTERVAL_KWH" FLOAT NOT NULL,
    "CUMULATIVE_KWH" FLOAT NOT NULL,
    "METHOD" VARCHAR NOT NULL,
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "COMPUTED_AT" TIMESTAMP_NTZ(9) NOT NULL
);

-- Batch ids, for the stream's batches and the restatements alike. A sequence, not
-- MAX(BATCH_ID) + 1, so that two calls consuming at once never take the same id; ORDER,
-- because a later batch must get a larger id (its states are "after" the earlier ones').
-- Values may skip (a rolled-back call spends one); the marker takes the larger of the
-- next value and MAX + 1, so a pipeline that ran before the sequence existed goes on.
CREATE SEQUENCE IF NOT EXISTS BATCH_ID_SEQUENCE
    START = 1
    INCREMENT = 1
    ORDER
    COMMENT = 'energy_integral: the batch ids of the stream procedure and the restatements';

-- One row per batch: LANDED after phase 1, INTEGRATED after phase 2. Key: BATCH_ID.
CREATE TABLE IF NOT EXISTS STREAM_CONSUMED_MARKER (
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "CONSUMED_AT" TIMESTAMP_NTZ(9) NOT NULL,
    "PROCESSED_AT" TIMESTAMP_NTZ(9),
    "ROWS_READ" NUMBER(38,0) NOT NULL,
    "ROWS_INTEGRATED" NUMBER(38,0),
    "ROWS_REJECTED" NUMBER(38,0),
    "METERS" NUMBER(38,0),
    "MIN_TIMESTAMP" TIMESTAMP_NTZ(9),
    "MAX_TIMESTAMP" TIMESTAMP_NTZ(9),
    "LAST_SOURCE_ID" NUMBER(38,0),
    "KWH_ADDED" FLOAT,
    "DURATION_S" FLOAT,
    "METHOD" VARCHAR,
    "STATUS" VARCHAR NOT NULL,
    "DETAIL" VARCHAR
);
-- A marker made before DETAIL existed gains it (why a LANDED batch was not integrated).
ALTER TABLE STREAM_CONSUMED_MARKER ADD COLUMN IF NOT EXISTS "DETAIL" VARCHAR;

-- Each meter's CumulativeState (JSON) after each batch, so a batch is always redone
-- from the state before it. Natural key: (METER_ID, METHOD, BATCH_ID).
CREATE TABLE IF NOT EXISTS METER_STATE (
    "METER_ID" VARCHAR NOT NULL,
    "METHOD" VARCHAR NOT NULL,
    "STATE" VARCHAR NOT NULL,
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "UPDATED_AT" TIMESTAMP_NTZ(9) NOT NULL
);

-- Rows the engine rejected, with the reason (one of energy_integral.REJECTION_REASONS).
-- Natural key: (BATCH_ID, ROW_ID, REASON).
CREATE TABLE IF NOT EXISTS QUARANTINED_READINGS (
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "ROW_ID" VARCHAR,
    "ID" NUMBER(38,0),
    "METER_ID" VARCHAR,
    "TIMESTAMP" TIMESTAMP_NTZ(9),
    "KW" FLOAT,
    "REASON" VARCHAR NOT NULL,
    "DETAIL" VARCHAR,
    "QUARANTINED_AT" TIMESTAMP_NTZ(9) NOT NULL
);

-- Quarantined late/correction rows that RECONCILE_READINGS resolved, and how: restated
-- (the meter re-integrated from the source over the row's time) or already-integrated
-- (identical to a stored result row). Natural key: (QUARANTINE_BATCH_ID, ROW_ID, REASON).
CREATE TABLE IF NOT EXISTS RESOLVED_READINGS (
    "QUARANTINE_BATCH_ID" NUMBER(38,0) NOT NULL,
    "ROW_ID" VARCHAR,
    "REASON" VARCHAR NOT NULL,
    "RESOLUTION" VARCHAR NOT NULL,
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "RESOLVED_AT" TIMESTAMP_NTZ(9) NOT NULL
);

-- One row per meter and reconcile or backfill batch: the restated window
-- (WINDOW_START < TIMESTAMP <= WINDOW_END), the meter's kWh before and after, the delta.
-- Natural key: (BATCH_ID, METER_ID, METHOD).
CREATE TABLE IF NOT EXISTS RECONCILIATION_AUDIT (
    "BATCH_ID" NUMBER(38,0) NOT NULL,
    "METER_ID" VARCHAR NOT NULL,
    "METHOD" VARCHAR NOT NULL,
    "KIND" VARCHAR NOT NULL,
    "WINDOW_START" TIMESTAMP_NTZ(9),
    "WINDOW_END" TIMESTAMP_NTZ(9),
    "KWH_BEFORE" FLOAT NOT NULL,
    "KWH_AFTER" FLOAT NOT NULL,
    "DELTA_KWH" FLOAT NOT NULL,
    "ROWS_RESTATED" NUMBER(38,0) NOT NULL,
    "AUDITED_AT" TIMESTAMP_NTZ(9) NOT NULL
);

-- A standard (not append-only) stream, so a DELETE or UPDATE of a reading reaches the
-- procedure and is quarantined as a correction. SHOW_INITIAL_ROWS makes the first
-- consumption include the readings already in the table, so adopting this on an
-- existing RANDOM_VALUES integrates its history instead of starting from now.
-- The stream goes stale if left unconsumed past the table's retention (extended up to
-- MAX_DATA_EXTENSION_TIME_IN_DAYS, 14 by default); the task keeps it consumed.
CREATE STREAM IF NOT EXISTS RANDOM_VALUES_STREAM
    ON TABLE RANDOM_VALUES
    SHOW_INITIAL_ROWS = TRUE
    COMMENT = 'energy_integral: readings not yet landed by the stream procedure';

-- The procedure: handler energy_integral_snowflake.handler.integrate_stream, which
-- returns a JSON summary of the run. The arguments mirror its keyword arguments.
-- COPY GRANTS (on each procedure): re-running this script keeps the USAGE grants made
-- on the procedures since, as a CLI deploy's CREATE OR REPLACE does.
CREATE OR REPLACE PROCEDURE INTEGRATE_STREAM(
    METHOD VARCHAR DEFAULT 'trapezoid',
    MAX_GAP VARCHAR DEFAULT NULL,
    ON_DUPLICATE VARCHAR DEFAULT 'reject',
    MAX_POWER FLOAT DEFAULT NULL
)
    COPY GRANTS
    RETURNS VARCHAR
    LANGUAGE PYTHON
    RUNTIME_VERSION = '3.11'
    PACKAGES = ('numpy', 'scipy', 'pandas', 'snowflake-snowpark-python')
    IMPORTS = ('@ENERGY_INTEGRAL_STAGE/src.zip', '@ENERGY_INTEGRAL_STAGE/procedure.zip')
    HANDLER = 'energy_integral_snowflake.handler.integrate_stream'
    EXECUTE AS OWNER;

-- Backfill and reconcile (energy-integral backfill / reconcile CALL them): handlers
-- energy_integral_snowflake.backfill.backfill and energy_integral_snowflake.reconcile.reconcile,
-- each returning a JSON summary; the arguments mirror their keyword arguments.
-- They run apply_in_pandas, which registers a temporary UDTF, and cache_result, which
-- creates a temporary table. Owner's rights suffice: such a procedure refuses temporary
-- objects *named* by the code, but accepts those Snowpark creates itself, named
-- SNOWPARK_TEMP_<kind>_<random> (the table as SCOPED TEMPORARY, dropped with the call).
-- Owner's rights also let a role with only USAGE on the procedure run it, as for
-- INTEGRATE_STREAM; the UDTFs import the same archives from the stage.
CREATE OR REPLACE PROCEDURE BACKFILL_READINGS(
    METHOD VARCHAR DEFAULT 'trapezoid',
    START_TIME VARCHAR DEFAULT NULL,
    END_TIME VARCHAR DEFAULT NULL,
    METERS VARCHAR DEFAULT NULL,
    CHUNK_BY_DAY BOOLEAN DEFAULT FALSE,
    MAX_GAP VARCHAR DEFAULT NULL,
    ON_DUPLICATE VARCHAR DEFAULT 'reject',
    MAX_POWER FLOAT DEFAULT NULL
)
    COPY GRANTS
    RETURNS VARCHAR
    LANGUAGE PYTHON
    RUNTIME_VERSION = '3.11'
    PACKAGES = ('numpy', 'scipy', 'pandas', 'snowflake-snowpark-python')
    IMPORTS = ('@ENERGY_INTEGRAL_STAGE/src.zip', '@ENERGY_INTEGRAL_STAGE/procedure.zip')
    HANDLER = 'energy_integral_snowflake.backfill.backfill'
    EXECUTE AS OWNER;

CREATE OR REPLACE PROCEDURE RECONCILE_READINGS(
    METHOD VARCHAR DEFAULT 'trapezoid',
    MAX_GAP VARCHAR DEFAULT NULL,
    ON_DUPLICATE VARCHAR DEFAULT 'reject',
    MAX_POWER FLOAT DEFAULT NULL
)
    COPY GRANTS
    RETURNS VARCHAR
    LANGUAGE PYTHON
    RUNTIME_VERSION = '3.11'
    PACKAGES = ('numpy', 'scipy', 'pandas', 'snowflake-snowpark-python')
    IMPORTS = ('@ENERGY_INTEGRAL_STAGE/src.zip', '@ENERGY_INTEGRAL_STAGE/procedure.zip')
    HANDLER = 'energy_integral_snowflake.reconcile.reconcile'
    EXECUTE AS OWNER;

-- Every minute, only when the stream has rows (and about every 12 h to keep the
-- stream fresh). Serverless: no WAREHOUSE, Snowflake sizes it from XSMALL.
-- NO_OVERLAP: a run never starts while the previous one is still going (the procedure
-- is idempotent anyway, this just avoids wasted work). After 5 consecutive failures
-- the task suspends itself; the readings wait safely in the stream and the landing
-- table until someone fixes the cause and resumes it (see task_manager.sql).
-- A batch that landed but failed to integrate is retried by the next run, i.e. when
-- new readings arrive, or at once with EXECUTE TASK / CALL INTEGRATE_STREAM().
-- Created suspended, like every new task: resume it with task_manager.sql.
CREATE OR REPLACE TASK INTEGRATE_STREAM_TASK
    USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'
    SCHEDULE = '1 MINUTE'
    OVERLAP_POLICY = NO_OVERLAP
    SUSPEND_TASK_AFTER_NUM_FAILURES = 5
    COMMENT = 'energy_integral: integrate the stream into kWh every minute'
    WHEN SYSTEM$STREAM_HAS_DATA('RANDOM_VALUES_STREAM')
AS
    CALL INTEGRATE_STREAM();
