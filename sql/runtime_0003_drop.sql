-- Back to pgpolicy runtime version 2: no shadow mode, planned_write() as runtime.sql
-- defines it.

DROP FUNCTION pgpolicy.shadow_denied(text, text, integer[], integer);
DROP FUNCTION pgpolicy.planned_shadow();

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN coalesce(current_query() ~* '^\s*(update|insert)\s', false); END $$;
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT. IMMUTABLE on purpose: '
    'folded at plan time so read queries never carry the own-writes term';

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '2'::text $$;
