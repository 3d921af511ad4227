-- energy_integral: least-privilege roles for deploying and running the pipeline.
--
-- Run once, by an administrator, before the first deploy. Replace the four names
-- below with yours (search and replace): the database ENERGY, the schema
-- ENERGY.METERS the pipeline lives in, the warehouse ENERGY_WH (for deploying and for
-- CALL BACKFILL_READINGS / RECONCILE_READINGS; the task itself is serverless) and
-- the user DEPLOY_USER who deploys.
--
-- ENERGY_INTEGRAL_OWNER deploys (setup.sql, `snow snowpark deploy`, `energy-integral
-- deploy`) and so owns every object it creates: the tables, the stream, the stage,
-- the three procedures and the task. The procedures run with their owner's rights
-- (EXECUTE AS OWNER) and the task runs as its owner, so this one role is also the
-- task owner: no other role needs write access to the pipeline's tables.
-- ENERGY_INTEGRAL_READER may only read the results (analysts, dashboards).

-- 1. The roles, under SYSADMIN so administrators keep control of what they own.
USE ROLE SECURITYADMIN;
CREATE ROLE IF NOT EXISTS ENERGY_INTEGRAL_OWNER
    COMMENT = 'energy_integral: deploys and owns the pipeline; owner of its task';
CREATE ROLE IF NOT EXISTS ENERGY_INTEGRAL_READER
    COMMENT = 'energy_integral: reads the results';
GRANT ROLE ENERGY_INTEGRAL_OWNER TO ROLE SYSADMIN;
GRANT ROLE ENERGY_INTEGRAL_READER TO ROLE ENERGY_INTEGRAL_OWNER;
GRANT ROLE ENERGY_INTEGRAL_OWNER TO USER DEPLOY_USER;

-- 2. Where the objects go, and what the owner may create there (CREATE SEQUENCE is
-- for BATCH_ID_SEQUENCE, which numbers the batches). CREATE FUNCTION
-- and CREATE TABLE are also what BACKFILL_READINGS and RECONCILE_READINGS need at run
-- time: apply_in_pandas registers a temporary UDTF and cache_result a temporary
-- table, in this schema, with the owner's rights. CREATE VIEW is for pointing the
-- pipeline at your own readings (docs: "Your own readings table").
GRANT USAGE ON DATABASE ENERGY TO ROLE ENERGY_INTEGRAL_OWNER;
GRANT USAGE ON SCHEMA ENERGY.METERS TO ROLE ENERGY_INTEGRAL_OWNER;
GRANT CREATE TABLE, CREATE VIEW, CREATE STREAM, CREATE STAGE, CREATE SEQUENCE,
      CREATE PROCEDURE, CREATE FUNCTION, CREATE TASK
    ON SCHEMA ENERGY.METERS TO ROLE ENERGY_INTEGRAL_OWNER;
GRANT USAGE ON WAREHOUSE ENERGY_WH TO ROLE ENERGY_INTEGRAL_OWNER;

-- 3. Tasks: EXECUTE MANAGED TASK lets the owner's serverless task run on
-- Snowflake-managed compute; EXECUTE TASK lets it resume the task and EXECUTE TASK it
-- by hand. Account-level privileges: ACCOUNTADMIN grants them.
USE ROLE ACCOUNTADMIN;
GRANT EXECUTE MANAGED TASK ON ACCOUNT TO ROLE ENERGY_INTEGRAL_OWNER;
GRANT EXECUTE TASK ON ACCOUNT TO ROLE ENERGY_INTEGRAL_OWNER;

-- 4. Readers: the schema, and every table the owner creates there now or later.
USE ROLE SECURITYADMIN;
GRANT USAGE ON DATABASE ENERGY TO ROLE ENERGY_INTEGRAL_READER;
GRANT USAGE ON SCHEMA ENERGY.METERS TO ROLE ENERGY_INTEGRAL_READER;
GRANT SELECT ON FUTURE TABLES IN SCHEMA ENERGY.METERS TO ROLE ENERGY_INTEGRAL_READER;
GRANT SELECT ON ALL TABLES IN SCHEMA ENERGY.METERS TO ROLE ENERGY_INTEGRAL_READER;

-- 5. Only if the readings come from a table the owner does not own (see the docs'
-- "Your own readings table"): SELECT on it, and its owner turns on change tracking,
-- which a stream on a view over it needs.
-- GRANT USAGE ON DATABASE RAW TO ROLE ENERGY_INTEGRAL_OWNER;
-- GRANT USAGE ON SCHEMA RAW.METERING TO ROLE ENERGY_INTEGRAL_OWNER;
-- GRANT SELECT ON TABLE RAW.METERING.READINGS TO ROLE ENERGY_INTEGRAL_OWNER;
-- ALTER TABLE RAW.METERING.READINGS SET CHANGE_TRACKING = TRUE;   -- as the table's owner
