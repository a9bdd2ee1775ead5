-- pgpolicy runtime, version 5: plan-time functions that may be compiled (pgpolicy_planner).
--
-- 1. The readers that query tables -- company_ids(), company_id(), group_ids() -- are
--    PL/pgSQL instead of SQL, with the same results. A SQL function that cannot be inlined
--    (these cannot: SECURITY DEFINER, a SET clause, a FROM clause) has its body parsed and
--    planned again at every call; PL/pgSQL keeps the plan of its query (0.6 ms a call
--    against 0.1 ms, measured on bench/'s database). The uid is read once per query, as an
--    InitPlan, not once per row the query scans.
-- 2. set_context() and set_profiles() call forget_context_plans() where they ran DISCARD
--    PLANS. This file defines it as DISCARD PLANS; the optional C implementation of the
--    plan-time functions (sql/planner/, `pgpolicy planner on`, sql/planned_c.sql) replaces
--    it with an invalidation of exactly the plans into which context was folded.
-- 3. planner(): which implementation of the plan-time functions is in place.

-- Installed before Odoo creates its tables too (see runtime.sql).
SET LOCAL check_function_bodies = off;

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

CREATE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN DISCARD PLANS; END $$;
COMMENT ON FUNCTION pgpolicy.forget_context_plans() IS
    'Make the plans cached in this session that folded the context be planned again (called '
    'by set_context and set_profiles): DISCARD PLANS, or with pgpolicy_planner exactly those '
    'plans';

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
    -- Policies fold part of the context into the plan (see the plan-time functions in
    -- runtime.sql): a plan cached under another context must be made again.
    PERFORM pgpolicy.forget_context_plans();
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
    PERFORM pgpolicy.forget_context_plans();  -- policies fold the enabled profiles in
END
$$;

CREATE FUNCTION pgpolicy.planner() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN l.lanname = 'c' THEN 'c' ELSE 'sql' END
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
     WHERE p.oid = 'pgpolicy.planned_uid()'::pg_catalog.regprocedure
$$;
COMMENT ON FUNCTION pgpolicy.planner() IS
    'Which implementation of the plan-time functions is in place: sql, or c (pgpolicy_planner)';

REVOKE ALL ON FUNCTION pgpolicy.forget_context_plans() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.planner() FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '5'::text $$;

RESET check_function_bodies;
