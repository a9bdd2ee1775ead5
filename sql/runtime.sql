-- pgpolicy runtime, version 1: who is asking, for the row-level security policies pgpolicy
-- compiles from Odoo's access rules. Installed by alembic revision 0001 (`pgpolicy init`).
--
-- Context lives only in transaction-local settings (set_config(..., true)): COMMIT and
-- ROLLBACK clear it, so it never leaks to the next user of a pooled connection. The setting
-- names (pgpolicy.uid, pgpolicy.company_ids, pgpolicy.su) and their text format are private
-- to this file: everything else goes through the functions below.
--
-- Fail closed. An unset setting reads as NULL; a setting used earlier in the session reads
-- back as '' (not NULL) after its transaction ended; a setting written by hand may be
-- anything. All of these read as "no access" (NULL / false), never as "all access".
--
-- Odoo's tables live in schema public; every reference is schema-qualified, and SECURITY
-- DEFINER functions pin search_path, so a caller's search_path changes nothing.
--
-- Privileges: EXECUTE is revoked from PUBLIC at the end of this file; `pgpolicy init`
-- grants USAGE on the schema and EXECUTE on the public functions to the app roles it is
-- given (policies run as the querying role, which therefore needs EXECUTE on every
-- function a policy calls). Installing needs a superuser: the SECURITY DEFINER readers
-- must read res_company, res_users and the membership tables past their own policies.

-- The runtime may be installed before Odoo creates its tables (a new database, then
-- `odoo -i base`): function bodies are checked when first called, not now. The setting is
-- local to the installing transaction and reset at the end of this file.
SET LOCAL check_function_bodies = off;

CREATE SCHEMA IF NOT EXISTS pgpolicy;
COMMENT ON SCHEMA pgpolicy IS
    'pgpolicy runtime: who is asking, read by row-level security policies';

CREATE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '1'::text $$;
COMMENT ON FUNCTION pgpolicy.version() IS 'Version of the pgpolicy runtime installed here';

-- ---------------------------------------------------------------------------------------
-- Setting the context: the single entry point (the bridge addon, tools, tests).
--
-- Private format of the settings:
--   pgpolicy.uid          the uid as decimal digits
--   pgpolicy.company_ids  'default' (Odoo's default: all the user's active companies) or
--                         the given ids, comma-separated, in the given order
--   pgpolicy.su           'true' or 'false'

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
    -- Policies fold part of the context into the plan (see the plan-time functions
    -- below): a plan cached under another context must be made again. DISCARD PLANS
    -- works inside a function and in read-only transactions.
    DISCARD PLANS;
END
$$;
COMMENT ON FUNCTION pgpolicy.set_context(integer, integer[], boolean) IS
    'Say who is asking, for the current transaction only: Odoo uid, allowed companies '
    '(the first is the current company; NULL or empty = all the user''s active companies), '
    'superuser mode. Discards cached plans.';

-- ---------------------------------------------------------------------------------------
-- Readers. STABLE, PARALLEL SAFE and cheap. Policies read the context through the
-- plan-time functions below; of these readers they call only context_key(), as a scalar
-- subquery `(SELECT pgpolicy.context_key())`, evaluated once per statement (an InitPlan),
-- not once per row. uid(), su(), context_key() and today() are plain SQL (no SECURITY
-- DEFINER, no SET clause) so the planner can inline them.
--
-- uid() is the key of the whole context: it is NULL unless all three settings are in the
-- form set_context writes, and context_key() is NULL whenever uid() is. Every protected
-- table's context gate compares context_key() with the planned key, so a malformed
-- context (a setting emptied by an earlier transaction, or written by hand) hides every
-- row, including rows no company or group rule restricts; su() is false whenever uid() is
-- NULL. Whether the companies are the user's is checked by company_ids(), which reads
-- tables and so cannot be inlined.

CREATE FUNCTION pgpolicy.uid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN current_setting('pgpolicy.uid', true) ~ '^[1-9][0-9]{0,8}$'
                 AND (current_setting('pgpolicy.company_ids', true) = 'default'
                      OR current_setting('pgpolicy.company_ids', true)
                         ~ '^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$')
                 AND current_setting('pgpolicy.su', true) IN ('true', 'false')
                THEN current_setting('pgpolicy.uid', true)::integer END
$$;
COMMENT ON FUNCTION pgpolicy.uid() IS
    'Odoo uid of the current transaction; NULL (no access) when the context is unset or malformed';

CREATE FUNCTION pgpolicy.su() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(current_setting('pgpolicy.su', true) = 'true'
                    AND pgpolicy.uid() IS NOT NULL, false)
$$;
COMMENT ON FUNCTION pgpolicy.su() IS
    'Whether the current transaction runs in Odoo superuser mode; false unless set_context said so';

-- The whole context as one value, for the context gate: NULL unless uid() is (a malformed
-- context), else every setting a plan-time function reads, as written: the three of
-- set_context, the enabled profiles (pgpolicy.set_profiles, runtime 2) and shadow mode
-- (runtime 3). Everything a policy derives from the context (groups, companies, the
-- user's records, profiles) is a function of these settings and of the database, so two
-- statements with the same key see the same context.
CREATE FUNCTION pgpolicy.context_key() RETURNS text
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

CREATE FUNCTION pgpolicy.today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (now() AT TIME ZONE 'UTC')::date $$;
COMMENT ON FUNCTION pgpolicy.today() IS 'Today in UTC, as Odoo rules compute it';

-- Companies are validated as Odoo validates allowed_company_ids: each must be an active
-- company of the user (res_company_users_rel), else the whole set is NULL (no access).
-- SECURITY DEFINER: res_company and res_users carry policies themselves, and reading
-- them from inside a policy would recurse or be filtered.
CREATE FUNCTION pgpolicy.company_ids() RETURNS integer[]
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
COMMENT ON FUNCTION pgpolicy.company_ids() IS
    'Allowed companies of the current transaction, in the given order, each an active company '
    'of the user (else NULL: no access); by default all of them, ordered by sequence, name';

CREATE FUNCTION pgpolicy.company_id() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE
        WHEN current_setting('pgpolicy.company_ids', true) = 'default'
            THEN (SELECT u.company_id FROM public.res_users u WHERE u.id = pgpolicy.uid())
        ELSE (pgpolicy.company_ids())[1]
    END
$$;
COMMENT ON FUNCTION pgpolicy.company_id() IS
    'Current company: the first allowed company given, else the user''s main company '
    '(res_users.company_id); NULL when the context is missing or invalid';

-- Group membership is derived in SQL from the uid, never trusted from the application.
-- The ORM reads res_groups_users_rel as it is (implied groups are materialised there),
-- so this does too.
CREATE FUNCTION pgpolicy.group_ids() RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN pgpolicy.uid() IS NOT NULL THEN
        coalesce((SELECT array_agg(g.gid ORDER BY g.gid)
                    FROM public.res_groups_users_rel g
                   WHERE g.uid = pgpolicy.uid()), '{}')
    END
$$;
COMMENT ON FUNCTION pgpolicy.group_ids() IS
    'Groups of the current user (res_groups_users_rel), sorted; NULL without a uid';

-- ---------------------------------------------------------------------------------------
-- Plan-time functions, for compiled policies only (never for application queries).
--
-- They are declared IMMUTABLE ON PURPOSE, although they read the context. The planner
-- evaluates an IMMUTABLE call whose arguments are constants once, while planning, and
-- puts the result into the plan as a constant. So which Odoo group rules apply to the
-- user, whether superuser mode lifts the mirrors, and every value a rule reads from the
-- context (user.id, company_ids, company_id, user.groups_id, user.<path> through the
-- generated pgpolicy_sudo.planned_ids_*() functions) are decided before the rest of the
-- plan is made. What remains of a policy is the user's own predicate with constants,
-- `user_id = 15 AND company_id = ANY ('{1}')`: the WHERE clause the ORM would have
-- written, with the same estimates, so the same plan. Read at run time instead (InitPlan
-- parameters), the same predicate gets generic estimates and other plans (a parallel
-- scan for a list page: 20x, bench/RESULTS.md), and runtime group guards make every
-- OR-ed rule unindexable (2-3.5x, perf-findings.md, finding 4).
--
-- What makes lying to the planner safe: a plan may only ever run under the context it
-- was planned for, and the check of that is made when the statement runs.
--   1. The context gate. Every protected table carries a RESTRICTIVE policy for all
--      commands and roles, AND-ed with every other policy:
--          (SELECT true WHERE pgpolicy.context_key() = pgpolicy.planned_context_key())
--              IS NOT NULL
--      The sub-select is an InitPlan: context_key() is read when the statement runs,
--      planned_context_key() was folded when it was planned. A plan made under another
--      context (a prepared statement or a PL/pgSQL plan kept across a context set by
--      hand, a generic plan, a plan made in another transaction) returns no row and
--      changes no row: the key includes uid, companies and su, so every folded value
--      was derived from the same settings. No context or a malformed one gives NULL on
--      both sides, and NULL = NULL is not true: no rows. (Written as IS NOT NULL of a
--      sub-select because the planner estimates that at 99.5 % of the rows, while
--      `param = constant` is estimated at 0.5 %, which would make every list page look
--      200 times more selective than it is and flip it to a parallel plan.)
--   2. set_context() runs DISCARD PLANS: plans cached in the session are made again for
--      the new context, so the gate denies only plans kept across a context changed
--      without set_context (which is not how the context is set).
--   3. Parallel workers do not plan: they run the leader's plan with its folded
--      constants, and receive the gate's InitPlan value from the leader.
--   4. The values are derived from the settings and from the database as the statement
--      sees it when it is planned. A statement is planned in its own snapshot, just
--      before it runs, so for a statement sent as text (what Odoo does) nothing
--      differs from reading at run time. A plan cached and run again in the same
--      transaction keeps the group membership, companies and user records of its
--      planning until the next set_context: like Odoo, which caches the rules of a
--      (uid, companies) until its registry is invalidated.
-- Never use these functions in an index, a generated column, a constraint, a default
-- or a materialized view: there, IMMUTABLE results are stored and would outlive the
-- context. Never call them in application queries: only the context gate makes a
-- folded value safe.

-- Each is the run-time reader evaluated once, while planning (the readers validate and
-- fail closed: NULL means no access). A statement evaluates about twenty of them per
-- protected table, which is the fixed cost of a policy. They are PL/pgSQL, not SQL: the
-- planner calls them through the function manager, where a SQL function's body is parsed
-- and planned again at every call, while PL/pgSQL keeps the compiled function and the
-- plans of its expressions (set_context's DISCARD PLANS has them planned again once per
-- transaction): a quarter of the planning time (bench/RESULTS.md). For the same reason
-- their bodies call the inlinable readers, never each other.
CREATE FUNCTION pgpolicy.planned_uid() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.uid(); END $$;
COMMENT ON FUNCTION pgpolicy.planned_uid() IS
    'uid() as of planning: IMMUTABLE on purpose, folded into the plan under the context gate '
    '(context_key() when the statement runs = planned_context_key()); set_context() discards '
    'cached plans';

CREATE FUNCTION pgpolicy.planned_su() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.su(); END $$;
COMMENT ON FUNCTION pgpolicy.planned_su() IS
    'su() as of planning: IMMUTABLE on purpose, folded into the plan under the context gate; '
    'set_context() discards cached plans';

CREATE FUNCTION pgpolicy.planned_in_groups(gids integer[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN RETURN EXISTS (SELECT FROM public.res_groups_users_rel g
                               WHERE g.uid = pgpolicy.uid() AND g.gid = ANY (gids)); END $$;
COMMENT ON FUNCTION pgpolicy.planned_in_groups(integer[]) IS
    'Whether the planned uid is in any of the groups (res_groups_users_rel); false without a uid. '
    'IMMUTABLE on purpose: folded at plan time so the remaining predicate stays indexable; safe '
    'because set_context() discards cached plans and the context gate re-checks the context at run '
    'time';

CREATE FUNCTION pgpolicy.planned_company_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.company_ids(); END $$;
COMMENT ON FUNCTION pgpolicy.planned_company_ids() IS
    'company_ids() as of planning: IMMUTABLE on purpose, folded into the plan under the context '
    'gate; set_context() discards cached plans';

CREATE FUNCTION pgpolicy.planned_company_id() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.company_id(); END $$;
COMMENT ON FUNCTION pgpolicy.planned_company_id() IS
    'company_id() as of planning: IMMUTABLE on purpose, folded into the plan under the context '
    'gate; set_context() discards cached plans';

CREATE FUNCTION pgpolicy.planned_group_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.group_ids(); END $$;
COMMENT ON FUNCTION pgpolicy.planned_group_ids() IS
    'group_ids() as of planning: IMMUTABLE on purpose, folded into the plan under the context '
    'gate; set_context() discards cached plans';

-- The context gate compares context_key() when the statement runs with this.
CREATE FUNCTION pgpolicy.planned_context_key() RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.context_key(); END $$;
COMMENT ON FUNCTION pgpolicy.planned_context_key() IS
    'context_key() as of planning: IMMUTABLE on purpose; the context gate compares it with '
    'context_key() when the statement runs, which makes every folded value safe';

-- The system principal: uid 1 in superuser mode (registry loading, module install and
-- upgrade). Gates (rules that hold whatever the ORM does) are lifted for it alone.
CREATE FUNCTION pgpolicy.planned_system() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.su() AND coalesce(pgpolicy.uid() = 1, false); END $$;
COMMENT ON FUNCTION pgpolicy.planned_system() IS
    'Whether the statement is planned for the system principal (uid 1 in superuser mode), the '
    'only one gates are lifted for. IMMUTABLE on purpose (see planned_uid)';

-- Whether the statement being planned is an UPDATE or INSERT. PostgreSQL checks SELECT
-- policies on the new row of UPDATE ... WHERE and INSERT ... RETURNING, while Odoo never
-- requires read access to what it just wrote; the compiled read policies let a write
-- statement see rows the same user wrote in the same transaction, and only a write
-- statement: read queries fold the term away and keep their indexable plans. It reads
-- the text of the top-level statement, so it can only answer "no" for anything that does
-- not start with UPDATE or INSERT (fail closed).
CREATE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN coalesce(current_query() ~* '^\s*(update|insert)\s', false); END $$;
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT. IMMUTABLE on purpose: '
    'folded at plan time so read queries never carry the own-writes term';

-- ---------------------------------------------------------------------------------------
-- Auditors: every policy on every table, with the provenance pgpolicy records as JSON in
-- the policy's comment (COMMENT ON POLICY). Nobody may read the view by default; the DBA
-- grants it to an auditor role:
--     GRANT USAGE ON SCHEMA pgpolicy TO auditor;
--     GRANT SELECT ON pgpolicy.policies TO auditor;

-- The comment as a JSON object, or NULL when it is not one (hand-written comments must
-- not break the view). PL/pgSQL because only an exception handler can catch a failed cast
-- on PostgreSQL 15; the handler is a subtransaction, hence PARALLEL UNSAFE. It reveals
-- nothing and functions in a view run with the reader's privileges, so PUBLIC keeps
-- EXECUTE on it.
CREATE FUNCTION pgpolicy.provenance_of(comment text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE PARALLEL UNSAFE
    AS $$
DECLARE
    parsed jsonb;
BEGIN
    IF comment IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        parsed := comment::jsonb;
    EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
        RETURN NULL;
    END;
    RETURN CASE WHEN jsonb_typeof(parsed) = 'object' THEN parsed END;
END
$$;
COMMENT ON FUNCTION pgpolicy.provenance_of(text) IS
    'A policy comment parsed as a JSON object, or NULL when it is not one';

CREATE VIEW pgpolicy.policies AS
SELECT n.nspname AS schema,
       c.relname AS "table",
       p.polname AS policy,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid) END
               FROM unnest(p.polroles) AS r(oid)
              ORDER BY 1)::name[] AS roles,
       p.polpermissive AS permissive,
       pg_get_expr(p.polqual, p.polrelid) AS using_expression,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expression,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       pgpolicy.provenance_of(d.description) AS provenance,
       d.description AS comment
  FROM pg_catalog.pg_policy p
  JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_description d
         ON d.classoid = 'pg_catalog.pg_policy'::regclass AND d.objoid = p.oid AND d.objsubid = 0
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema');
COMMENT ON VIEW pgpolicy.policies IS
    'Every row-level security policy, its table''s RLS flags and the provenance pgpolicy recorded '
    '(JSON comment; NULL when the comment is not a JSON object). Readable by nobody by default: '
    'GRANT USAGE ON SCHEMA pgpolicy and SELECT on this view to an auditor role';

-- ---------------------------------------------------------------------------------------
-- Nobody may call the runtime until `pgpolicy init` grants it to the app roles.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgpolicy FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgpolicy.provenance_of(text) TO PUBLIC;
REVOKE ALL ON pgpolicy.policies FROM PUBLIC;

RESET check_function_bodies;
