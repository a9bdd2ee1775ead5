-- pgpolicy runtime 12: every name in the runtime's function bodies resolves when the function
-- is created, never under the search_path of the session that calls it.
--
-- A LANGUAGE sql function with a quoted body, or a PL/pgSQL function without a SET clause,
-- resolves `current_setting`, `||`, `=`, `~*`, `current_query`, ... when it runs, in the
-- caller's search_path. A role that may create in a schema (CREATE on public kept, a schema
-- of its own) could put a `current_setting(text, boolean)` of its own ahead of pg_catalog's
-- and have uid() and su() read what it likes: superuser mode for itself. Here the SQL
-- functions get SQL-standard bodies (parsed and bound when created, under pgpolicy's pinned
-- path; PostgreSQL still inlines them), and the PL/pgSQL functions run with search_path
-- pinned to pg_catalog. The plan-time functions (sql/planned_sql.sql) follow the same rule.
-- tests/security/test_search_path.py checks every function of pgpolicy's schemas.

CREATE OR REPLACE FUNCTION pgpolicy.context_part(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN length(coalesce(value, ''))::text || ':' || coalesce(value, '') || ';';

CREATE OR REPLACE FUNCTION pgpolicy.context_message() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN pgpolicy.context_part(pg_backend_pid()::text)
        || pgpolicy.context_part(((extract(epoch FROM now()) * 1000000)::bigint)::text)
        || pgpolicy.context_part(current_setting('pgpolicy.uid', true))
        || pgpolicy.context_part(current_setting('pgpolicy.company_ids', true))
        || pgpolicy.context_part(current_setting('pgpolicy.su', true))
        || pgpolicy.context_part(current_setting('pgpolicy.profiles', true))
        || pgpolicy.context_part(current_setting('pgpolicy.shadow', true))
        || pgpolicy.context_part(current_setting('pgpolicy.lock', true));

CREATE OR REPLACE FUNCTION pgpolicy.today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (now() AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE FUNCTION pgpolicy.local_today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (now() AT TIME ZONE pgpolicy.user_tz())::date;

CREATE OR REPLACE FUNCTION pgpolicy.planner() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    BEGIN ATOMIC
    SELECT CASE WHEN l.lanname = 'c' THEN 'c' ELSE 'sql' END
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
     WHERE p.oid = pg_catalog.to_regprocedure('pgpolicy.planned_uid()');
    END;

ALTER FUNCTION pgpolicy.provenance_of(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgpolicy.shadow_denied(text, text, integer[], integer)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgpolicy.note_nested_plan() SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '12'::text;
