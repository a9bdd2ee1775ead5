-- Back to pgpolicy runtime version 8: no analyst logins. The alembic downgrade first puts
-- back the SQL plan-time functions of version 8 (sql/planned_sql_0008.sql) when the SQL
-- implementation is in place.

SET LOCAL check_function_bodies = off;

DO $refuse$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text)',
        'pgpolicy.set_profiles(text[])']
    LOOP
        EXECUTE pg_catalog.regexp_replace(
            pg_catalog.pg_get_functiondef(fn::pg_catalog.regprocedure),
            E'\n    PERFORM pgpolicy\\.refuse_analyst\\([^)]*\\);  -- runtime 9\n', E'\n');
    END LOOP;
END
$refuse$;

CREATE OR REPLACE FUNCTION pgpolicy.sealed_context() RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seal text := current_setting('pgpolicy.seal', true);
    message text;
    pads record;
BEGIN
    IF seal IS NULL OR length(seal) <> 64 THEN
        RETURN NULL;
    END IF;
    message := pgpolicy.context_message();
    SELECT s.inner_pad, s.outer_pad INTO pads FROM pgpolicy.context_secret s;
    IF encode(sha256(pads.outer_pad || sha256(pads.inner_pad || convert_to(message, 'UTF8'))),
              'hex') = seal THEN
        RETURN message;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.company_ids() RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    given text := current_setting('pgpolicy.company_ids', true);
    allowed integer[];
BEGIN
    IF pgpolicy.uid() IS NULL THEN
        RETURN NULL;
    END IF;
    allowed := coalesce((SELECT array_agg(c.id ORDER BY c.sequence, c.name, c.id)
                           FROM public.res_company_users_rel r
                           JOIN public.res_company c ON c.id = r.cid
                          WHERE r.user_id = (SELECT pgpolicy.uid()) AND c.active), '{}');
    IF given = 'default' THEN
        RETURN allowed;
    END IF;
    IF given ~ '^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$'
       AND string_to_array(given, ',')::integer[] <@ allowed THEN
        RETURN string_to_array(given, ',')::integer[];
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.company_id() RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF current_setting('pgpolicy.company_ids', true) = 'default' THEN
        RETURN (SELECT u.company_id FROM public.res_users u WHERE u.id = (SELECT pgpolicy.uid()));
    END IF;
    RETURN (pgpolicy.company_ids())[1];
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.profiles_of(uid integer, in_force boolean) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(p.name ORDER BY p.name), '{}')
      FROM pgpolicy.profile p
     WHERE uid IS NOT NULL
       AND p.name = ANY (pgpolicy.member_profiles(uid))
       AND (p.company_ids IS NULL OR pgpolicy.company_id() = ANY (p.company_ids))
       AND (NOT in_force OR (
            (p.active_from IS NULL OR p.active_from <= now())
            AND (p.active_until IS NULL OR now() < p.active_until)
            AND (coalesce(current_setting('pgpolicy.profiles', true), '') = ''
                 OR p.name = ANY (string_to_array(current_setting('pgpolicy.profiles', true), ',')))))
$$;

-- The analyst logins lose what pgpolicy granted them on the Odoo schema.
DO $analysts$
DECLARE
    analyst name;
BEGIN
    FOR analyst IN SELECT a.role_name FROM pgpolicy.analyst a
                    WHERE EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = a.role_name)
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', analyst);
    END LOOP;
END
$analysts$;

DROP FUNCTION pgpolicy.refuse_analyst(text);
DROP FUNCTION pgpolicy.analyst_company_ids();
DROP FUNCTION pgpolicy.analyst_uid();
DROP FUNCTION pgpolicy.analyst_session();
DROP TABLE pgpolicy.analyst;

-- The group role is the cluster's: it stays while another database still refers to it.
DO $role$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgpolicy_analysts') THEN
        REVOKE ALL ON SCHEMA pgpolicy FROM pgpolicy_analysts;
        REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgpolicy FROM pgpolicy_analysts;
        BEGIN
            DROP ROLE pgpolicy_analysts;
        EXCEPTION WHEN dependent_objects_still_exist THEN
            NULL;
        END;
    END IF;
END
$role$;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '8'::text $$;

RESET check_function_bodies;
