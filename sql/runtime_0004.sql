-- pgpolicy runtime, version 4: the bridge's enabled subset of access profiles.
--
-- A user who chose some of their profiles (docs/bridge.md, "Access profiles: the enabled
-- subset") has the bridge send, in front of the first statement of each transaction,
-- `SELECT pgpolicy.set_context(...); SELECT pgpolicy.set_profiles(ARRAY[...]::text[]);`.
-- planned_write() now looks past that second call too, so an UPDATE or INSERT carrying
-- both keeps sight of the row it writes. Anything else still reads as "not a write"
-- (fail closed).

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce(current_query()
                    ~* ('^\s*(select\s+set_config\(''pgpolicy\.shadow''[^;]*;\s*)?'
        '(select\s+pgpolicy\.set_context\([^;]*\)\s*;\s*)?'
        '(select\s+pgpolicy\.set_profiles\([^;]*\)\s*;\s*)?(update|insert)\s'),
                    false);
END
$$;
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT (after one leading '
    'pgpolicy.set_context call and one pgpolicy.set_profiles call, as the bridge sends them). '
    'IMMUTABLE on purpose: folded at plan time so read queries never carry the own-writes term';

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '4'::text $$;
