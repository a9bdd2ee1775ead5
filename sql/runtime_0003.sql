-- pgpolicy runtime, version 3: the bridge's prefixed statements.
--
-- The Odoo bridge sends the context in the same query string as the first statement of
-- each transaction: `SELECT pgpolicy.set_context(...);` then the statement (no extra
-- round trip). planned_write() reads the text of the top-level query string, which then
-- starts with that call: it now looks past one leading set_context call, so an UPDATE or
-- INSERT that carries its context is still recognised as a write. Anything else still
-- reads as "not a write" (fail closed).

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(current_query()
                    ~* '^\s*(select\s+pgpolicy\.set_context\([^;]*\)\s*;\s*)?(update|insert)\s',
                    false)
$$;
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT (after one leading '
    'pgpolicy.set_context call, as the bridge sends it). IMMUTABLE on purpose: folded at plan '
    'time so read queries never carry the own-writes term';

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '3'::text $$;
