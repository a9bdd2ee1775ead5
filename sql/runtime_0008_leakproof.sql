-- pgpolicy runtime, version 8: what `pgpolicy like-leakproof on` changed, so that `off` and
-- the downgrade of this revision put back exactly what was there before (sql/leakproof_restore.sql).
--
-- LEAKPROOF is a flag of pg_catalog's own functions, database-wide and outside the runtime's
-- schema: `on` records here each function it marks, with the flag it had, before marking it.
-- A function LEAKPROOF before `on` (by hand, by another tool) is neither recorded nor touched.
-- The function is kept as text (regprocedure would stop pg_upgrade), as `regprocedure` prints
-- a pg_catalog function under search_path pg_catalog: `texticlike(text,text)`.

CREATE TABLE pgpolicy.leakproof_before (
    function text PRIMARY KEY,
    leakproof boolean NOT NULL
);
REVOKE ALL ON pgpolicy.leakproof_before FROM PUBLIC;
COMMENT ON TABLE pgpolicy.leakproof_before IS
    'pg_catalog functions `pgpolicy like-leakproof on` marked LEAKPROOF, and their flag before';

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '8'::text $$;
