-- Back to pgpolicy runtime version 5: the context is the settings as they are. The alembic
-- downgrade puts the SQL plan-time functions of version 5 back first
-- (sql/planned_sql_0005.sql), whichever implementation was in place: the C library of
-- version 6 reads the seal.

-- Without Odoo's tables too (see runtime.sql).
SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION pgpolicy.uid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN current_setting('pgpolicy.uid', true) ~ '^[1-9][0-9]{0,8}$'
                 AND (current_setting('pgpolicy.company_ids', true) = 'default'
                      OR current_setting('pgpolicy.company_ids', true)
                         ~ '^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$')
                 AND current_setting('pgpolicy.su', true) IN ('true', 'false')
                THEN current_setting('pgpolicy.uid', true)::integer END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.context_key() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN pgpolicy.uid() IS NOT NULL
                THEN current_setting('pgpolicy.uid', true) || '|'
                     || current_setting('pgpolicy.company_ids', true) || '|'
                     || current_setting('pgpolicy.su', true) || '|'
                     || coalesce(current_setting('pgpolicy.profiles', true), '') || '|'
                     || coalesce(current_setting('pgpolicy.shadow', true), '') END
$$;
COMMENT ON FUNCTION pgpolicy.context_key() IS
    'The context of the current transaction as one text (uid|companies|su|profiles|shadow); '
    'NULL when it is unset or malformed. Read by the context gate of every protected table';

-- set_context(integer, integer[], boolean) again, granted to whoever may call version 6's.
CREATE TEMP TABLE pgpolicy_set_context_grantees ON COMMIT DROP AS
SELECT DISTINCT a.grantee::regrole::text AS grantee
  FROM pg_catalog.pg_proc p
 CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
 WHERE p.oid = 'pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text)'
               ::pg_catalog.regprocedure
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner;
DROP FUNCTION pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text);

CREATE FUNCTION pgpolicy.set_context(uid integer, company_ids integer[], su boolean DEFAULT false)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF uid IS NULL OR uid <= 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_context: uid must be a positive integer, got %',
            coalesce(uid::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF su IS NULL THEN
        RAISE EXCEPTION 'pgpolicy.set_context: su must be true or false, got NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_ndims(company_ids) > 1 THEN
        RAISE EXCEPTION 'pgpolicy.set_context: company_ids must be a one-dimensional array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM unnest(company_ids) AS c(id) WHERE c.id IS NULL OR c.id <= 0) THEN
        RAISE EXCEPTION 'pgpolicy.set_context: company ids must be positive integers, got %',
            company_ids
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('pgpolicy.uid', uid::text, true);
    PERFORM set_config('pgpolicy.company_ids',
                       CASE WHEN coalesce(cardinality(company_ids), 0) = 0 THEN 'default'
                            ELSE array_to_string(company_ids, ',') END,
                       true);
    PERFORM set_config('pgpolicy.su', CASE WHEN su THEN 'true' ELSE 'false' END, true);
    -- Policies fold part of the context into the plan (see the plan-time functions in
    -- runtime.sql): a plan cached under another context must be made again.
    PERFORM pgpolicy.forget_context_plans();
END
$$;
COMMENT ON FUNCTION pgpolicy.set_context(integer, integer[], boolean) IS
    'Say who is asking, for the current transaction only: Odoo uid, allowed companies '
    '(the first is the current company; NULL or empty = all the user''s active companies), '
    'superuser mode. Discards cached plans.';
REVOKE ALL ON FUNCTION pgpolicy.set_context(integer, integer[], boolean) FROM PUBLIC;
DO $grant$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN SELECT g.grantee FROM pgpolicy_set_context_grantees g LOOP
        EXECUTE pg_catalog.format(
            'GRANT EXECUTE ON FUNCTION pgpolicy.set_context(integer, integer[], boolean) TO %s',
            grantee);
    END LOOP;
END
$grant$;
DROP TABLE pgpolicy_set_context_grantees;

CREATE OR REPLACE FUNCTION pgpolicy.set_profiles(names text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    unknown text[];
BEGIN
    IF pgpolicy.uid() IS NULL THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: call pgpolicy.set_context first'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF names IS NULL OR cardinality(names) = 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: give at least one profile'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    unknown := ARRAY(SELECT n FROM unnest(names) AS n
                      WHERE n IS NULL OR NOT n = ANY (pgpolicy.profile_names()));
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: not a profile of user %: %',
            pgpolicy.uid(), array_to_string(unknown, ', ', 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('pgpolicy.profiles', array_to_string(names, ','), true);
    PERFORM pgpolicy.forget_context_plans();  -- policies fold the enabled profiles in
END
$$;
COMMENT ON FUNCTION pgpolicy.set_profiles(text[]) IS
    'Narrow the current transaction to some of the user''s profiles (after set_context): the '
    'others grant nothing but still restrict. Discards cached plans';

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

DROP FUNCTION pgpolicy.sealed_context();
DROP FUNCTION pgpolicy.context_seal(text);
DROP FUNCTION pgpolicy.context_message();
DROP FUNCTION pgpolicy.context_part(text);
DROP TABLE pgpolicy.context_lock;
DROP TABLE pgpolicy.context_secret;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '5'::text $$;

RESET check_function_bodies;
