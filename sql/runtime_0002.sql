-- pgpolicy runtime, version 2: access profiles. Installed by alembic revision 0002.
--
-- A profile (pgpolicy/profiles.py, docs/profiles.md) bundles, for its members, per-model
-- domains AND-ed onto Odoo's own rules. What a profile restricts (its domains, strict,
-- deny_by_default) is compiled into policies; who is a member, when the profile is in
-- force, in which companies it applies and whether it blocks sign-in are DATA in the
-- tables below, read by the policies when a statement is planned. Adding a member or a
-- profile reaching the end of its window takes effect with the next transaction: no DDL,
-- no lock on business tables.
--
-- A profile's members are
--   restricted by it   while it applies: they are members (by login or group), and the
--                      current company is one of its companies (or it names none);
--   granted its domain while it is also in force: now() is inside its window and the
--                      session has not narrowed the enabled profiles to a set without it.
-- Outside its window, or when left out of the enabled subset, a profile grants nothing
-- but still restricts: a member loses what it covers, never gains (fail closed).
--
-- There is deliberately no way to move the clock: a settable "now" would let any role that
-- can call set_config (the app role does) revive an expired profile. The window is compared
-- with the transaction's own now().
--
-- The tables are readable and writable by superusers only (and whoever the DBA grants);
-- every change is recorded in pgpolicy.profile_audit by a trigger.
SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '2'::text $$;

-- ---------------------------------------------------------------------------------------
-- Data

CREATE TABLE pgpolicy.profile (
    name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
    description text NOT NULL DEFAULT '',
    strict boolean NOT NULL DEFAULT false,
    deny_by_default boolean NOT NULL DEFAULT false,
    deny_login boolean NOT NULL DEFAULT false,
    company_ids integer[],
    active_from timestamptz,
    active_until timestamptz,
    models jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(models) = 'object'),
    CHECK (active_from IS NULL OR active_until IS NULL OR active_from < active_until)
);
COMMENT ON TABLE pgpolicy.profile IS
    'Access profiles (pgpolicy profile import/export). strict, deny_by_default and models are '
    'compiled into policies (pgpolicy apply); the window, companies and deny_login are read at '
    'plan time of each statement';

CREATE TABLE pgpolicy.profile_member (
    profile text NOT NULL REFERENCES pgpolicy.profile (name) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('login', 'group')),
    ref text NOT NULL CHECK (ref <> ''),
    PRIMARY KEY (profile, kind, ref)
);
COMMENT ON TABLE pgpolicy.profile_member IS
    'Members of a profile: an Odoo login (res_users.login) or a group xml id (module.name)';

CREATE TABLE pgpolicy.profile_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    by_role name NOT NULL DEFAULT session_user,
    action text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    object text NOT NULL CHECK (object IN ('profile', 'member')),
    profile text NOT NULL,
    old jsonb,
    new jsonb
);
COMMENT ON TABLE pgpolicy.profile_audit IS
    'Every change of pgpolicy.profile and pgpolicy.profile_member: who, when, what';

CREATE TABLE pgpolicy.login_attempt (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    uid integer NOT NULL,
    profiles text[] NOT NULL
);
COMMENT ON TABLE pgpolicy.login_attempt IS
    'Sign-ins refused by pgpolicy.login_allowed(): the uid and the profiles that blocked it';

CREATE FUNCTION pgpolicy.audit_profile_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    row_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    row_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
BEGIN
    IF row_old IS NOT DISTINCT FROM row_new THEN
        RETURN NULL;
    END IF;
    INSERT INTO pgpolicy.profile_audit (action, object, profile, old, new)
    VALUES (TG_OP,
            CASE WHEN TG_TABLE_NAME = 'profile' THEN 'profile' ELSE 'member' END,
            coalesce(row_new, row_old) ->> CASE WHEN TG_TABLE_NAME = 'profile'
                                                THEN 'name' ELSE 'profile' END,
            row_old, row_new);
    RETURN NULL;
END
$$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON pgpolicy.profile
    FOR EACH ROW EXECUTE FUNCTION pgpolicy.audit_profile_change();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON pgpolicy.profile_member
    FOR EACH ROW EXECUTE FUNCTION pgpolicy.audit_profile_change();

-- ---------------------------------------------------------------------------------------
-- Membership, resolved in SQL from Odoo's tables (never taken from the application)

CREATE FUNCTION pgpolicy.member_profiles(uid integer) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(p.name ORDER BY p.name), '{}')
      FROM pgpolicy.profile p
     WHERE EXISTS (
        SELECT FROM pgpolicy.profile_member m
         WHERE m.profile = p.name
           AND ((m.kind = 'login'
                 AND EXISTS (SELECT FROM public.res_users u
                              WHERE u.id = member_profiles.uid AND u.login = m.ref))
             OR (m.kind = 'group'
                 AND EXISTS (SELECT FROM public.ir_model_data d
                               JOIN public.res_groups_users_rel r ON r.gid = d.res_id
                              WHERE d.model = 'res.groups'
                                AND d.module = split_part(m.ref, '.', 1)
                                AND d.name = substr(m.ref, strpos(m.ref, '.') + 1)
                                AND r.uid = member_profiles.uid))))
$$;
COMMENT ON FUNCTION pgpolicy.member_profiles(integer) IS
    'Profiles the uid is a member of, by login or group, whatever their window and companies';

-- The profiles restricting / granting for a uid in the current context. The enabled
-- subset is the transaction-local setting pgpolicy.profiles: unset or '' means all; else
-- names separated by commas (set_profiles() writes it; a malformed value enables none).
CREATE FUNCTION pgpolicy.profiles_of(uid integer, in_force boolean) RETURNS text[]
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
COMMENT ON FUNCTION pgpolicy.profiles_of(integer, boolean) IS
    'Profiles that apply to the uid now (member, current company); with in_force, only those '
    'inside their window and in the enabled subset';

CREATE FUNCTION pgpolicy.profile_names() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT CASE WHEN pgpolicy.uid() IS NOT NULL THEN pgpolicy.member_profiles(pgpolicy.uid()) END $$;
COMMENT ON FUNCTION pgpolicy.profile_names() IS
    'Profiles the current user is a member of (for a profile selector); NULL without a context';

CREATE FUNCTION pgpolicy.set_profiles(names text[]) RETURNS void
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
COMMENT ON FUNCTION pgpolicy.set_profiles(text[]) IS
    'Narrow the current transaction to some of the user''s profiles (after set_context): the '
    'others grant nothing but still restrict. Discards cached plans';

-- Plan-time (IMMUTABLE on purpose, like planned_in_groups in runtime.sql): folded into the
-- plan, so a policy keeps only the domain of the profiles that grant to this user. Safe for
-- the same reasons: set_context() and set_profiles() discard cached plans, and the context
-- gate re-checks uid and su when the statement runs.
CREATE FUNCTION pgpolicy.planned_in_profiles(names text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT pgpolicy.profiles_of(pgpolicy.planned_uid(), false) && names $$;
COMMENT ON FUNCTION pgpolicy.planned_in_profiles(text[]) IS
    'Whether any of the profiles applies to the planned uid. IMMUTABLE on purpose (see '
    'planned_in_groups)';

CREATE FUNCTION pgpolicy.planned_profile_in_force(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT name = ANY (pgpolicy.profiles_of(pgpolicy.planned_uid(), true)) $$;
COMMENT ON FUNCTION pgpolicy.planned_profile_in_force(text) IS
    'Whether the profile applies to the planned uid, is inside its window and enabled. '
    'IMMUTABLE on purpose (see planned_in_groups)';

-- ---------------------------------------------------------------------------------------
-- Dates of profile placeholders (__today__, __month_start__, ...) are the user's local
-- dates: Odoo keeps the user's time zone on the partner (res_partner.tz). An unknown zone
-- is PostgreSQL's error, not a guess.
CREATE FUNCTION pgpolicy.user_tz() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce((SELECT nullif(p.tz, '')
                       FROM public.res_users u JOIN public.res_partner p ON p.id = u.partner_id
                      WHERE u.id = pgpolicy.uid()), 'UTC')
$$;
COMMENT ON FUNCTION pgpolicy.user_tz() IS
    'Time zone of the current user (their partner''s tz), UTC when unset';

CREATE FUNCTION pgpolicy.local_today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (now() AT TIME ZONE pgpolicy.user_tz())::date $$;
COMMENT ON FUNCTION pgpolicy.local_today() IS 'Today in the current user''s time zone';

-- ---------------------------------------------------------------------------------------
-- Sign-in: the bridge asks before opening a session. A refusal is recorded; the bridge
-- must commit it (call this in its own transaction), since a rollback would take the
-- record with it.
CREATE FUNCTION pgpolicy.login_allowed(uid integer) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    blocking text[];
BEGIN
    IF uid IS NULL OR uid <= 0 THEN
        RAISE EXCEPTION 'pgpolicy.login_allowed: uid must be a positive integer, got %',
            coalesce(uid::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    blocking := ARRAY(
        SELECT p.name FROM pgpolicy.profile p
         WHERE p.deny_login
           AND p.name = ANY (pgpolicy.member_profiles(login_allowed.uid))
           AND (p.active_from IS NULL OR p.active_from <= now())
           AND (p.active_until IS NULL OR now() < p.active_until)
         ORDER BY p.name);
    IF cardinality(blocking) = 0 THEN
        RETURN true;
    END IF;
    INSERT INTO pgpolicy.login_attempt (uid, profiles) VALUES (login_allowed.uid, blocking);
    RETURN false;
END
$$;
COMMENT ON FUNCTION pgpolicy.login_allowed(integer) IS
    'Whether the uid may sign in: false while a deny_login profile of theirs is in force (the '
    'refusal is recorded in pgpolicy.login_attempt)';

-- ---------------------------------------------------------------------------------------
-- Field write locks: the WITH CHECK of a profile's lock policy on UPDATE. True when the
-- new value equals the row's value before the statement; else the change is refused with
-- an error naming the profile, the model and the field. It reads the old row as the
-- caller (SECURITY INVOKER: under the caller's own SELECT policies, so it reveals nothing
-- they could not read) in the statement's snapshot (STABLE), where the row being updated
-- still has its old value. A row the caller cannot read counts as changed (fail closed).
-- Policies call it only for members: for anyone else the planner folds the term away.
CREATE FUNCTION pgpolicy.check_locked(tbl regclass, col name, rid integer, new_value anyelement,
                                      profile text, model text)
    RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    unchanged boolean;
BEGIN
    EXECUTE format('SELECT %I IS NOT DISTINCT FROM $1 FROM %s WHERE id = $2', col, tbl)
       INTO unchanged USING new_value, rid;
    IF unchanged THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION 'pgpolicy: profile % locks field % of %: the change is refused',
        profile, col, model
        USING ERRCODE = 'insufficient_privilege';
END
$$;
COMMENT ON FUNCTION pgpolicy.check_locked(regclass, name, integer, anyelement, text, text) IS
    'Field write lock: true when the UPDATE leaves the column as it was, else an error naming '
    'the profile, the model and the field';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgpolicy FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgpolicy.provenance_of(text) TO PUBLIC;
REVOKE ALL ON pgpolicy.profile, pgpolicy.profile_member, pgpolicy.profile_audit,
    pgpolicy.login_attempt FROM PUBLIC;

RESET check_function_bodies;
