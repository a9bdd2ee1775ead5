-- Back to pgpolicy runtime version 4: the SQL readers, and DISCARD PLANS in set_context()
-- and set_profiles(). The alembic downgrade puts the SQL plan-time functions back first
-- (sql/planned_sql.sql), whichever implementation was in place.

-- Without Odoo's tables too (see runtime.sql).
SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION pgpolicy.company_ids() RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH context AS (
        SELECT pgpolicy.uid() AS uid,
               current_setting('pgpolicy.company_ids', true) AS given
    ), allowed AS (
        SELECT coalesce(array_agg(c.id ORDER BY c.sequence, c.name, c.id), '{}') AS ids
          FROM context
          JOIN public.res_company_users_rel r ON r.user_id = context.uid
          JOIN public.res_company c ON c.id = r.cid
         WHERE c.active
    )
    SELECT CASE
        WHEN context.uid IS NULL THEN NULL
        WHEN context.given = 'default' THEN allowed.ids
        WHEN context.given ~ '^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$'
             AND string_to_array(context.given, ',')::integer[] <@ allowed.ids
            THEN string_to_array(context.given, ',')::integer[]
    END
      FROM context, allowed
$$;

CREATE OR REPLACE FUNCTION pgpolicy.company_id() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE
        WHEN current_setting('pgpolicy.company_ids', true) = 'default'
            THEN (SELECT u.company_id FROM public.res_users u WHERE u.id = pgpolicy.uid())
        ELSE (pgpolicy.company_ids())[1]
    END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.group_ids() RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN pgpolicy.uid() IS NOT NULL THEN
        coalesce((SELECT array_agg(g.gid ORDER BY g.gid)
                    FROM public.res_groups_users_rel g
                   WHERE g.uid = pgpolicy.uid()), '{}')
    END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.set_context(uid integer, company_ids integer[], su boolean DEFAULT false)
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
    -- Policies fold part of the context into the plan (see the plan-time functions
    -- below): a plan cached under another context must be made again. DISCARD PLANS
    -- works inside a function and in read-only transactions.
    DISCARD PLANS;
END
$$;

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
    DISCARD PLANS;  -- policies fold the enabled profiles into their plans
END
$$;

DROP FUNCTION pgpolicy.planner();
DROP FUNCTION pgpolicy.forget_context_plans();

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '4'::text $$;

RESET check_function_bodies;
