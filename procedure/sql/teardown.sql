-- Remove the moving parts: the task, the procedures, the stream and the stage.
-- The tables stay: they hold the readings and the billed energy.
-- Dropping the stream forgets its offset; a new one starts from the moment it is
-- created (or, with SHOW_INITIAL_ROWS, from the whole table again).

DROP TASK IF EXISTS INTEGRATE_STREAM_TASK;
DROP PROCEDURE IF EXISTS INTEGRATE_STREAM(VARCHAR, VARCHAR, VARCHAR, FLOAT);
DROP PROCEDURE IF EXISTS BACKFILL_READINGS(VARCHAR, VARCHAR, VARCHAR, VARCHAR, BOOLEAN, VARCHAR, VARCHAR, FLOAT);
DROP PROCEDURE IF EXISTS RECONCILE_READINGS(VARCHAR, VARCHAR, VARCHAR, FLOAT);
DROP STREAM IF EXISTS RANDOM_VALUES_STREAM;
DROP STAGE IF EXISTS ENERGY_INTEGRAL_STAGE;
