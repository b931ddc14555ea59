-- Least privilege for charterbot on PostgreSQL: the grants (step 3 of deploy/README.md).
--
-- Two roles: charterbot_owner owns the database and its schema and runs migrations
-- (`charterbot db upgrade`); charterbot_app is what `charterbot serve` connects as. The app may
-- read and write the working tables, INSERT and SELECT the audit log but never UPDATE, DELETE or
-- TRUNCATE it, and since it owns no table it cannot disable the append-only triggers, change
-- the schema or move the schema version (alembic_version is read-only to it). Publish
-- `charterbot audit head` outside the database now and then: it is what catches a superuser
-- rewriting history.
--
-- The order, from deploy/README.md:
--   1. as a superuser: CREATE ROLE charterbot_owner LOGIN …; CREATE ROLE charterbot_app LOGIN …;
--      CREATE DATABASE charterbot OWNER charterbot_owner;
--   2. as charterbot_owner: charterbot db upgrade   (creates the tables, owned by the owner)
--   3. this script, in that database, as a superuser or as charterbot_owner:
--        psql -v ON_ERROR_STOP=1 -d charterbot -f deploy/postgres-roles.sql
--   4. serve as charterbot_app.
-- Safe to run again; run it again after each `charterbot db upgrade` (tables a migration
-- creates get the app's grants by default privileges, but a table it rebuilds would need the
-- audit restrictions below applied again).

-- Normally step 1 created the roles; this only creates what is missing (needs CREATEROLE).
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
  -- Only the owner creates objects (before PostgreSQL 15 everyone could in schema public).
  EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', s);
  EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM charterbot_app', s);
  -- Every table there now: normal read/write (the exceptions follow).
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO charterbot_app', s);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO charterbot_app', s);
  -- And every table and sequence the owner's later migrations create.
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE charterbot_owner IN SCHEMA %I '
                 'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO charterbot_app', s);
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE charterbot_owner IN SCHEMA %I '
                 'GRANT USAGE, SELECT ON SEQUENCES TO charterbot_app', s);
  -- The audit log: append and read only.
  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.audit_entry FROM charterbot_app', s);
  -- The schema version: read only (serve checks it; only the owner's `db upgrade` moves it).
  EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I.alembic_version FROM charterbot_app', s);
END
$$;
