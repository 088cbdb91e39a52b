-- The HTTP status of a cell's last provider attempt (NULL: no response arrived, or no call).
ALTER TABLE executions ADD COLUMN http_status integer CHECK (http_status BETWEEN 100 AND 599);
