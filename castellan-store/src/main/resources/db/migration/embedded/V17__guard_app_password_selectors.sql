-- The first characters of an app password, kept in the clear so that a login finds the one app
-- password a typed password can be and checks it with one PBKDF2, however many the account has
-- (docs/authentication.md). The rest of the password, what the SCRAM secret protects, is never
-- stored. NULL for app passwords made before this column existed: those are still checked one by
-- one after the main password. Unique per account; SQLite lets any number of rows share NULL.
ALTER TABLE app_passwords ADD COLUMN selector TEXT;
CREATE UNIQUE INDEX app_passwords_by_selector ON app_passwords (account_id, selector);
