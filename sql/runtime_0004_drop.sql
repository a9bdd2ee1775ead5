-- Back to pgpolicy runtime version 3: planned_write() as runtime_0003.sql defines it.

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce(current_query()
                    ~* ('^\s*(select\s+set_config\(''pgpolicy\.shadow''[^;]*;\s*)?'
        '(select\s+pgpolicy\.set_context\([^;]*\)\s*;\s*)?(update|insert)\s'),
                    false);
END
$$;
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT (after one leading '
    'pgpolicy.set_context call, as the bridge sends it). IMMUTABLE on purpose: folded at plan '
    'time so read queries never carry the own-writes term';

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '3'::text $$;
