-- The plan-time functions in SQL (PL/pgSQL): pgpolicy's default, as the runtime's head
-- revision defines them (uid() and context_key() read the sealed context, runtime_0006.sql;
-- an analyst session's context comes from its mapping, runtime_0009.sql; one seal check per
-- call, and set_context forgets cached plans only when one may have folded a context,
-- runtime_0011_plan_cache.sql).
-- `pgpolicy planner off` runs this file to put them back in place of the C ones
-- (sql/planned_c.sql). CREATE OR
-- REPLACE keeps each function's identity, so the policies calling them, their comments and
-- their grants are untouched. uid(), su() and context_key(), which the C
-- implementation also replaces, come first.

-- sealed_context() is NULL (no context), an analyst's text ('7:analyst;' first) or the
-- sealed text of set_context's settings (the backend's pid first): one seal check.
CREATE OR REPLACE FUNCTION pgpolicy.uid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE left(coalesce(pgpolicy.sealed_context(), '-'), 10)
                WHEN '-' THEN NULL
                WHEN '7:analyst;' THEN pgpolicy.analyst_uid()
                ELSE current_setting('pgpolicy.uid', true)::integer END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.su() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(current_setting('pgpolicy.su', true) = 'true'
                    AND left(pgpolicy.sealed_context(), 10) <> '7:analyst;', false)
$$;

CREATE OR REPLACE FUNCTION pgpolicy.context_key() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT pgpolicy.sealed_context() $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_uid() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN pgpolicy.uid();
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_su() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN pgpolicy.su();
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_in_groups(gids integer[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    stack text;
    context_uid integer := pgpolicy.uid();
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN context_uid IS NOT NULL
           AND EXISTS (SELECT FROM public.res_groups_users_rel g
                        WHERE g.uid = context_uid AND g.gid = ANY (gids));
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_company_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN pgpolicy.company_ids();
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_company_id() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN pgpolicy.company_id();
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_group_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN pgpolicy.group_ids();
END
$$;

-- Every protected table's context gate folds it: planned inside a function (the call stack
-- holds more than this frame), the plan may be kept by that function, and the session is
-- marked so that the next set_context forgets cached plans (forget_context_plans(), below).
CREATE OR REPLACE FUNCTION pgpolicy.planned_context_key() RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN pgpolicy.context_key();
END
$$;

-- The settings first (superuser mode and shadow mode are off in most statements), then one
-- seal check: an analyst's context never has either.
CREATE OR REPLACE FUNCTION pgpolicy.planned_system() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN coalesce(current_setting('pgpolicy.su', true) = 'true'
                    AND current_setting('pgpolicy.uid', true) = '1'
                    AND left(pgpolicy.sealed_context(), 10) <> '7:analyst;', false);
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_shadow() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN coalesce(current_setting('pgpolicy.shadow', true) = 'true'
                    AND left(pgpolicy.sealed_context(), 10) <> '7:analyst;', false);
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    stack text;
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN  -- planned inside a function: see planned_context_key()
        PERFORM pgpolicy.note_nested_plan();
    END IF;
    RETURN coalesce(current_query()
                    ~* ('^\s*(close\s+all\s*;\s*)?'
        '(select\s+set_config\(''pgpolicy\.shadow''[^;]*;\s*)?'
        '(select\s+pgpolicy\.set_context\([^;]*\)\s*;\s*)?'
        '(select\s+pgpolicy\.set_profiles\([^;]*\)\s*;\s*)?(update|insert)\s'),
                    false);
END
$$;

-- Called by set_context and set_profiles. Only a prepared statement (the client's, or the
-- mark of a plan made inside a function, pgpolicy_nested_plans) can hold a plan that folded
-- a context past this call; without one, the session's cached plans stay (the runtime's own
-- among them). Whatever stays cached, the context gate denies it in any other context.
CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_prepared_statements) THEN
        DISCARD PLANS;
        IF EXISTS (SELECT FROM pg_catalog.pg_prepared_statements p
                    WHERE p.name OPERATOR(pg_catalog.=) 'pgpolicy_nested_plans') THEN
            DEALLOCATE pgpolicy_nested_plans;
        END IF;
    END IF;
END
$$;
