-- What each answer cost and why its generation stopped, as its provider reported them: prompt
-- and completion tokens (NULL when the provider did not say: never an estimate) and the finish
-- reason (stop, length, content_filter, Ollama's done_reason, ...).
ALTER TABLE executions
  ADD COLUMN prompt_tokens bigint CHECK (prompt_tokens >= 0),
  ADD COLUMN completion_tokens bigint CHECK (completion_tokens >= 0),
  ADD COLUMN finish_reason text;
