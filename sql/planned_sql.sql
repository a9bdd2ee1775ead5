-- The plan-time functions in SQL (PL/pgSQL): pgpolicy's default, as runtime revisions 1-5
-- define them. `pgpolicy planner off` runs this file, and so does the downgrade of runtime
-- revision 5, to put them back in place of the C ones (sql/planned_c.sql). CREATE OR
-- REPLACE keeps each function's identity, so the policies calling them, their comments and
-- their grants are untouched.

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
                    AND pgpolicy.uid() IS NOT NULL, false);
END
$$;

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

CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN DISCARD PLANS; END $$;
