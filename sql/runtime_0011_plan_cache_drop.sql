-- Back to pgpolicy runtime version 9: set_context forgets every cached plan (DISCARD PLANS),
-- an analyst mapping is looked for before the seal. The alembic downgrade first puts back the
-- SQL plan-time functions of version 9 (sql/planned_sql_0009.sql) when the SQL
-- implementation is in place.

SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION pgpolicy.analyst_session() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT EXISTS (SELECT FROM pgpolicy.analyst a WHERE a.role_name = session_user) $$;

CREATE OR REPLACE FUNCTION pgpolicy.sealed_context() RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seal text;
    message text;
    pads record;
    analyst_uid integer;
BEGIN
    IF pgpolicy.analyst_session() THEN
        analyst_uid := pgpolicy.analyst_uid();
        IF analyst_uid IS NULL THEN
            RETURN NULL;
        END IF;
        RETURN pgpolicy.context_part('analyst') || pgpolicy.context_part(session_user)
            || pgpolicy.context_part(analyst_uid::text)
            || pgpolicy.context_part(array_to_string(pgpolicy.analyst_company_ids(), ','));
    END IF;
    seal := current_setting('pgpolicy.seal', true);
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
    IF pgpolicy.analyst_session() THEN
        RETURN pgpolicy.analyst_company_ids();
    END IF;
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
    IF pgpolicy.analyst_session() THEN
        RETURN (pgpolicy.analyst_company_ids())[1];
    END IF;
    IF current_setting('pgpolicy.company_ids', true) = 'default' THEN
        RETURN (SELECT u.company_id FROM public.res_users u WHERE u.id = (SELECT pgpolicy.uid()));
    END IF;
    RETURN (pgpolicy.company_ids())[1];
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.group_ids() RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF pgpolicy.uid() IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT array_agg(g.gid ORDER BY g.gid)
                       FROM public.res_groups_users_rel g
                      WHERE g.uid = (SELECT pgpolicy.uid())), '{}');
END
$$;
COMMENT ON FUNCTION pgpolicy.sealed_context() IS
    'The context of the current transaction as set by set_context (its sealed text), or NULL '
    'when the settings were not written by set_context in this transaction';

CREATE OR REPLACE FUNCTION pgpolicy.planned_in_profiles(names text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT pgpolicy.profiles_of(pgpolicy.planned_uid(), false) && names $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_profile_in_force(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT name = ANY (pgpolicy.profiles_of(pgpolicy.planned_uid(), true)) $$;

DROP FUNCTION pgpolicy.note_nested_plan();

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '10'::text $$;

RESET check_function_bodies;
