-- Why an attempt failed, as the server log's reason= says it ('unknown-account', 'bad-proof', ...);
-- NULL for a success and for rows written before this column existed. Never a password.
ALTER TABLE auth_log ADD COLUMN reason TEXT;
