-- Least privilege for charterbot on PostgreSQL.
--
-- Two roles: charterbot_owner owns the schema and runs migrations (`charterbot db upgrade`);
-- charterbot_app is what `charterbot serve` connects as. The app may INSERT and SELECT the
-- audit log but never UPDATE, DELETE or TRUNCATE it, and since it does not own the table it
-- cannot disable the append-only triggers either. Publish `charterbot audit head` outside the
-- database now and then: it is what catches a superuser rewriting history.
--
-- Run as a superuser, in the target database, AFTER `charterbot db upgrade` as the owner:
--   psql -v ON_ERROR_STOP=1 -d charterbot -f deploy/postgres-roles.sql
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'charterbot_owner') THEN
    CREATE ROLE charterbot_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'charterbot_app') THEN
    CREATE ROLE charterbot_app LOGIN;
  END IF;
END
$$;

-- Grants apply to the schema charterbot's tables live in (the first on the search_path).
DO $$
DECLARE
  s text := current_schema();
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO charterbot_app', s);
  -- Every table but the audit log: normal read/write.
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO charterbot_app', s);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO charterbot_app', s);
  -- The audit log: append and read only.
  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.audit_entry FROM charterbot_app', s);
END
$$;
