-- pgpolicy runtime, version 7: no window for what is created after `apply`.
--
-- A module install or upgrade, Odoo at run time, or a hand creates tables, views and
-- sequences in schema public after the policies were applied. Until `pgpolicy apply`
-- compiles their real policies, nothing may read them that should not: an event trigger
-- at the end of each such command (whoever runs it: event triggers fire for the DDL of
-- every role) protects each new relation of schema public the moment it exists:
--
--   table (or partitioned table, or partition): row level security enabled, and one
--       policy, pgpolicy_pending, admitting only the system principal (uid 1 in
--       superuser mode: registry loading, module install and upgrade through the bridge).
--       An app role (a role granted USAGE on schema pgpolicy by `pgpolicy init`, not a
--       superuser) that owns the table gets FORCE ROW LEVEL SECURITY, as `apply` does;
--   view: security_invoker = true (PostgreSQL 15 and later): it reads its tables with the
--       rights and the policies of whoever queries it, never with its owner's;
--   sequence: no row level security exists for sequences; it is only recorded.
--
-- Each is recorded in pgpolicy.pending_relation, which `pgpolicy status` reports as
-- pending (exit code 1) and `pgpolicy apply` clears once it has deployed what the
-- relation needs (it replaces pgpolicy_pending by the table's compiled policies).
--
-- The function is SECURITY DEFINER, owned by the superuser who ran `pgpolicy init`:
-- enabling row level security and creating a policy on a table owned by another role
-- needs the owner's or a superuser's rights. Creating an event trigger needs a superuser.

SET LOCAL check_function_bodies = off;

CREATE TABLE pgpolicy.pending_relation (
    schema_name name NOT NULL,
    relation_name name NOT NULL,
    kind text NOT NULL CHECK (kind IN ('table', 'view', 'sequence')),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT session_user,
    PRIMARY KEY (schema_name, relation_name)
);
COMMENT ON TABLE pgpolicy.pending_relation IS
    'Relations created in schema public since the last pgpolicy apply: protected by the event '
    'trigger pgpolicy_protect_new_relations until apply deploys what they need';
REVOKE ALL ON pgpolicy.pending_relation FROM PUBLIC;

-- Whether `role` is an app role: one `pgpolicy init` granted USAGE on schema pgpolicy,
-- and not a superuser (row level security never holds a superuser anyway).
CREATE FUNCTION pgpolicy.is_app_role(role oid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (
        SELECT FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) a, pg_catalog.pg_roles r
         WHERE n.nspname = 'pgpolicy' AND a.grantee = role AND a.privilege_type = 'USAGE'
           AND r.oid = role AND NOT r.rolsuper)
$$;
COMMENT ON FUNCTION pgpolicy.is_app_role(oid) IS
    'Whether a role was granted the runtime by pgpolicy init (USAGE on schema pgpolicy) and is '
    'not a superuser: a table it owns needs FORCE ROW LEVEL SECURITY';

CREATE FUNCTION pgpolicy.protect_new_relations() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    created record;
    kind text;
BEGIN
    FOR created IN
        SELECT DISTINCT c.oid, c.relname, c.relkind, c.relowner, c.relrowsecurity
          FROM pg_event_trigger_ddl_commands() d
          JOIN pg_catalog.pg_class c ON c.oid = d.objid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
           AND n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
    LOOP
        kind := CASE created.relkind WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence'
                                     ELSE 'table' END;
        IF kind = 'table' AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy p
                                           WHERE p.polrelid = created.oid) THEN
            EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', created.relname);
            EXECUTE format('CREATE POLICY pgpolicy_pending ON public.%I AS PERMISSIVE FOR ALL '
                           'TO PUBLIC USING (pgpolicy.su() AND pgpolicy.uid() = 1) '
                           'WITH CHECK (pgpolicy.su() AND pgpolicy.uid() = 1)', created.relname);
            EXECUTE format('COMMENT ON POLICY pgpolicy_pending ON public.%I IS %L',
                           created.relname,
                           'created after pgpolicy apply: only the system principal until '
                           'pgpolicy apply deploys the table''s compiled policies');
            IF pgpolicy.is_app_role(created.relowner) THEN
                EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', created.relname);
            END IF;
        ELSIF kind = 'view' AND current_setting('server_version_num')::integer >= 150000 THEN
            EXECUTE format('ALTER VIEW public.%I SET (security_invoker = true)', created.relname);
        END IF;
        INSERT INTO pgpolicy.pending_relation (schema_name, relation_name, kind)
        VALUES ('public', created.relname, kind)
        ON CONFLICT (schema_name, relation_name)
        DO UPDATE SET kind = excluded.kind, created_at = excluded.created_at,
                      created_by = excluded.created_by;
    END LOOP;
END
$$;
COMMENT ON FUNCTION pgpolicy.protect_new_relations() IS
    'Event trigger: a table created in schema public admits only the system principal until '
    'pgpolicy apply, a view runs with the invoker''s rights; both are recorded as pending';
REVOKE ALL ON FUNCTION pgpolicy.protect_new_relations() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.is_app_role(oid) FROM PUBLIC;

-- The event trigger itself is in runtime_0007_event_trigger.sql: only a superuser may create
-- one, so a runtime installed in managed mode (no superuser) has none (pgpolicy/deploy/roles.py).

-- How many relations await `pgpolicy apply`: for the bridge's reminder, callable by the
-- app roles (they cannot read the table).
CREATE FUNCTION pgpolicy.pending_count() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT count(*) FROM pgpolicy.pending_relation p
     WHERE to_regclass(format('%I.%I', p.schema_name, p.relation_name)) IS NOT NULL
$$;
COMMENT ON FUNCTION pgpolicy.pending_count() IS
    'How many relations created since the last pgpolicy apply still exist and await it';
REVOKE ALL ON FUNCTION pgpolicy.pending_count() FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '7'::text $$;

RESET check_function_bodies;
