-- pgpolicy runtime, version 10: cheaper planning with the SQL plan-time functions.
--
-- Measured in bench/plan_cache.py (bench/RESULTS.md, "Planning with SQL alone"): with the
-- SQL plan-time functions a transaction paid, besides the policies' own planning,
--   - DISCARD PLANS in every set_context: every cached plan of the session was dropped,
--     the runtime's own PL/pgSQL plans among them (set_context's, the readers', the seal
--     check's), and planned again by the next statement and the next set_context;
--   - a seal check and one or two analyst lookups (a SQL function, planned again at every
--     call) in each of the ~20 plan-time calls per protected table and statement.
--
-- 1. set_context forgets cached plans only when a plan that folded a context can be cached
--    in the session (forget_context_plans(), SQL implementation, sql/planned_sql.sql):
--      - a prepared statement exists (PREPARE, or a protocol-level named statement): its
--        plan may have folded a context;
--      - or a value was folded while a statement was planned *inside a function*
--        (PL/pgSQL, a SQL function -- whose plans PostgreSQL 18 keeps --, a trigger): every
--        plan-time function sees it on the call stack and leaves a mark that outlives a
--        rollback: a prepared statement of its own, pgpolicy_nested_plans
--        (note_nested_plan()). The profiles' plan-time functions, SQL functions evaluated by
--        the planner, read the uid with uid() instead of planned_uid(), so they fold nothing
--        inside themselves.
--    A statement sent as text (Odoo through psycopg2, psql) is planned for the current
--    context every time and keeps no plan: the session's cached plans stay.
--    Safety does not depend on this: the gate of every protected table compares the key of
--    the context the plan folded (bound to the transaction: backend and start) with the
--    current one, so a plan that escaped the forgetting returns no row in any other
--    context or transaction; forgetting only has such a plan made again instead of denied.
-- 2. A sealed context is recognised before anything else: sealed_context() checks the seal
--    first and looks for an analyst mapping only when there is none (set_context refuses an
--    analyst login, so a session whose settings carry a valid seal is not one). uid(), su(),
--    company_ids(), company_id(), group_ids(), planned_in_groups(), planned_system() and
--    planned_shadow() check the seal once per call (they checked it up to three times, and
--    asked about the analyst mapping up to five). analyst_session() is PL/pgSQL: its query's
--    plan is kept (a SECURITY DEFINER SQL function is planned again at every call before
--    PostgreSQL 18).
--
-- What a plan-time function folds, and when, is unchanged; the C implementation
-- (sql/planned_c.sql) is unchanged and calls these readers as before.

-- Installed before Odoo creates its tables too (see runtime.sql).
SET LOCAL check_function_bodies = off;

-- The mark: a prepared statement, because PREPARE is not undone by a rollback (a plan kept
-- by a function made in a transaction that rolls back is still cached) and is allowed in
-- read-only transactions and on standbys. VOLATILE: PREPARE is refused in the read-only SPI
-- of a STABLE or IMMUTABLE function, and planned_context_key() is IMMUTABLE.
CREATE FUNCTION pgpolicy.note_nested_plan() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_prepared_statements p
                    WHERE p.name OPERATOR(pg_catalog.=) 'pgpolicy_nested_plans') THEN
        PREPARE pgpolicy_nested_plans AS SELECT;
    END IF;
END
$$;
COMMENT ON FUNCTION pgpolicy.note_nested_plan() IS
    'Mark the session: a plan that folded a context was made inside a function, which may '
    'keep it (the prepared statement pgpolicy_nested_plans); the next set_context forgets '
    'cached plans';

CREATE OR REPLACE FUNCTION pgpolicy.analyst_session() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN EXISTS (SELECT FROM pgpolicy.analyst a WHERE a.role_name = session_user);
END
$$;

-- The seal first; the mapping of an analyst login only when no seal matches.
CREATE OR REPLACE FUNCTION pgpolicy.sealed_context() RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seal text := current_setting('pgpolicy.seal', true);
    message text;
    pads record;
    analyst_uid integer;
BEGIN
    IF length(seal) = 64 THEN
        message := pgpolicy.context_message();
        SELECT s.inner_pad, s.outer_pad INTO pads FROM pgpolicy.context_secret s;
        IF encode(sha256(pads.outer_pad || sha256(pads.inner_pad || convert_to(message, 'UTF8'))),
                  'hex') = seal THEN
            RETURN message;
        END IF;
    END IF;
    IF pgpolicy.analyst_session() THEN
        analyst_uid := pgpolicy.analyst_uid();
        IF analyst_uid IS NULL THEN
            RETURN NULL;
        END IF;
        RETURN pgpolicy.context_part('analyst') || pgpolicy.context_part(session_user)
            || pgpolicy.context_part(analyst_uid::text)
            || pgpolicy.context_part(array_to_string(pgpolicy.analyst_company_ids(), ','));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgpolicy.sealed_context() IS
    'The context of the current transaction as set by set_context (its sealed text), or '
    'an analyst login''s (made from its mapping, starting 7:analyst;), or NULL';

-- The readers that query tables: one seal check each. An analyst's context is recognised
-- by the text sealed_context() makes for it ('7:analyst;' first: a sealed text starts with
-- the backend's pid, digits).
CREATE OR REPLACE FUNCTION pgpolicy.company_ids() RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    sealed text := pgpolicy.sealed_context();
    given text := current_setting('pgpolicy.company_ids', true);
    context_uid integer;
    allowed integer[];
BEGIN
    IF sealed IS NULL THEN
        RETURN NULL;
    END IF;
    IF left(sealed, 10) = '7:analyst;' THEN
        RETURN pgpolicy.analyst_company_ids();
    END IF;
    context_uid := current_setting('pgpolicy.uid', true)::integer;
    allowed := coalesce((SELECT array_agg(c.id ORDER BY c.sequence, c.name, c.id)
                           FROM public.res_company_users_rel r
                           JOIN public.res_company c ON c.id = r.cid
                          WHERE r.user_id = context_uid AND c.active), '{}');
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
DECLARE
    sealed text := pgpolicy.sealed_context();
    given text := current_setting('pgpolicy.company_ids', true);
    context_uid integer;
BEGIN
    IF sealed IS NULL THEN
        RETURN NULL;
    END IF;
    IF left(sealed, 10) = '7:analyst;' THEN
        RETURN (pgpolicy.analyst_company_ids())[1];
    END IF;
    context_uid := current_setting('pgpolicy.uid', true)::integer;
    IF given = 'default' THEN
        RETURN (SELECT u.company_id FROM public.res_users u WHERE u.id = context_uid);
    END IF;
    -- company_ids()[1], without checking the seal again: the first company given, when
    -- every one given is an active company of the user
    IF given ~ '^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$'
       AND string_to_array(given, ',')::integer[]
           <@ coalesce((SELECT array_agg(c.id)
                          FROM public.res_company_users_rel r
                          JOIN public.res_company c ON c.id = r.cid
                         WHERE r.user_id = context_uid AND c.active), '{}') THEN
        RETURN (string_to_array(given, ',')::integer[])[1];
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.group_ids() RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    context_uid integer := pgpolicy.uid();
BEGIN
    IF context_uid IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT array_agg(g.gid ORDER BY g.gid)
                       FROM public.res_groups_users_rel g
                      WHERE g.uid = context_uid), '{}');
END
$$;

-- The profiles' plan-time functions are SQL functions evaluated by the planner; PostgreSQL
-- 18 keeps the plans of a SQL function's statements for the session, so a plan-time call
-- inside one would be folded into a kept plan (and mark the session). They read the uid
-- when their statement runs instead: the same value, as they run while the statement that
-- calls them is planned.
CREATE OR REPLACE FUNCTION pgpolicy.planned_in_profiles(names text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT pgpolicy.profiles_of(pgpolicy.uid(), false) && names $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_profile_in_force(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT name = ANY (pgpolicy.profiles_of(pgpolicy.uid(), true)) $$;

REVOKE ALL ON FUNCTION pgpolicy.note_nested_plan() FROM PUBLIC;

-- Whoever may call the readers may call the mark, which planned_context_key() calls as the
-- querying role (pgpolicy init grants it from now on).
DO $grant$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT a.grantee::regrole::text
          FROM pg_catalog.pg_proc p
         CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
         WHERE p.oid = 'pgpolicy.uid()'::pg_catalog.regprocedure
           AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0
           AND a.grantee <> p.proowner
    LOOP
        EXECUTE pg_catalog.format(
            'GRANT EXECUTE ON FUNCTION pgpolicy.note_nested_plan() TO %s', grantee);
    END LOOP;
END
$grant$;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '11'::text $$;

RESET check_function_bodies;
