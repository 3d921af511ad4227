-- Operate the task. Run the statement you need, not the whole file.

-- Start: the task is created suspended. It then runs every minute while the stream
-- has data.
ALTER TASK INTEGRATE_STREAM_TASK RESUME;

-- Stop. Readings keep accumulating in the stream and are integrated after RESUME
-- (as long as the stream does not go stale, see show_all.sql).
ALTER TASK INTEGRATE_STREAM_TASK SUSPEND;

-- Run once now, whatever the schedule and the WHEN condition (also on a suspended task).
EXECUTE TASK INTEGRATE_STREAM_TASK;

-- The same without the task: returns the run's JSON summary directly.
CALL INTEGRATE_STREAM();

-- Is it started or suspended, and with which schedule?
SHOW TASKS LIKE 'INTEGRATE_STREAM_TASK';

-- Its last runs, newest first (7 days).
SELECT "NAME", "STATE", "SCHEDULED_TIME", "COMPLETED_TIME", "RETURN_VALUE", "ERROR_CODE", "ERROR_MESSAGE"
FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => 'INTEGRATE_STREAM_TASK', RESULT_LIMIT => 50))
ORDER BY "SCHEDULED_TIME" DESC;
