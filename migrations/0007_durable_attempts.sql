-- Durable attempts: a cell's attempt is recorded (its number, and the previous attempt's
-- failure in retry_history) before its provider call, so the retry budget and the history
-- survive a crash. attempts counts calls that may have reached a provider; attempt_open says
-- the last of them has no recorded outcome yet. A claim that finds an open attempt (its node
-- or actor stopped mid-call) records it as interrupted: it stays in attempts and the history
-- but not against the budget (max_retries + 1 attempts that were not interrupted).
ALTER TABLE executions
  ADD COLUMN attempt_open boolean NOT NULL DEFAULT false,
  ADD COLUMN interrupted_attempts integer NOT NULL DEFAULT 0 CHECK (interrupted_attempts >= 0);
