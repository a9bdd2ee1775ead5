-- The SQL plan-time functions as runtime version 9 had them: the downgrade of revision 0011
-- puts them back when the SQL implementation is in place.
--
-- The plan-time functions in SQL (PL/pgSQL): pgpolicy's default, as the runtime's head
-- revision defines them (uid() and context_key() read the sealed context, runtime_0006.sql;
-- an analyst session's context comes from its mapping, runtime_0009.sql).
-- `pgpolicy planner off` runs this file to put them back in place of the C ones
-- (sql/planned_c.sql). CREATE OR
-- REPLACE keeps each function's identity, so the policies calling them, their comments and
-- their grants are untouched. uid(), su() and context_key(), which the C
-- implementation also replaces, come first.

CREATE OR REPLACE FUNCTION pgpolicy.uid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN pgpolicy.analyst_session() THEN pgpolicy.analyst_uid()
                WHEN pgpolicy.sealed_context() IS NOT NULL
                THEN current_setting('pgpolicy.uid', true)::integer END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.su() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(current_setting('pgpolicy.su', true) = 'true'
                    AND NOT pgpolicy.analyst_session() AND pgpolicy.uid() IS NOT NULL, false)
$$;

CREATE OR REPLACE FUNCTION pgpolicy.context_key() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT pgpolicy.sealed_context() $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_uid() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.uid(); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_su() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.su(); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_in_groups(gids integer[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN RETURN EXISTS (SELECT FROM public.res_groups_users_rel g
                               WHERE g.uid = pgpolicy.uid() AND g.gid = ANY (gids)); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_company_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.company_ids(); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_company_id() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.company_id(); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_group_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.group_ids(); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_context_key() RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.context_key(); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_system() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$ BEGIN RETURN pgpolicy.su() AND coalesce(pgpolicy.uid() = 1, false); END $$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_shadow() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce(current_setting('pgpolicy.shadow', true) = 'true'
                    AND NOT pgpolicy.analyst_session() AND pgpolicy.uid() IS NOT NULL, false);
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce(current_query()
                    ~* ('^\s*(close\s+all\s*;\s*)?'
        '(select\s+set_config\(''pgpolicy\.shadow''[^;]*;\s*)?'
        '(select\s+pgpolicy\.set_context\([^;]*\)\s*;\s*)?'
        '(select\s+pgpolicy\.set_profiles\([^;]*\)\s*;\s*)?(update|insert)\s'),
                    false);
END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN DISCARD PLANS; END $$;
