-- pgpolicy runtime, version 9: analyst logins.
--
-- An analyst is a PostgreSQL LOGIN role mapped to an Odoo user (pgpolicy.analyst). psql, a
-- BI tool or a notebook connects as it and reads with that user's rules, without calling
-- set_context: for every transaction of a session whose session_user is mapped, the
-- readers (uid(), su(), company_ids(), company_id(), context_key(), the profiles, the
-- plan-time functions) derive the context from the mapping, in the database:
--
--   uid        the mapped Odoo user, while its res_users row is active (else none: no rows);
--   companies  the mapping's companies that are the user's active companies (in the
--              mapping's order), or, when the mapping names none, the user's default company
--              first and then its other active companies;
--   su         false, always; shadow false; every profile of the user in force.
--
-- The settings pgpolicy.* count for nothing in such a session, and set_context and
-- set_profiles refuse it. session_user is what the connection authenticated as: SET ROLE
-- and SECURITY DEFINER functions do not change it, and only a superuser may SET SESSION
-- AUTHORIZATION. The mapping is readable by the runtime's owner only.
--
-- Policies are created TO the app roles and TO the group role pgpolicy_analysts, of which
-- every analyst is a member (pgpolicy analyst add); the group holds what policies call.

SET LOCAL check_function_bodies = off;

-- The group is created once per cluster, by whoever installs first. In managed mode (no
-- superuser) that takes CREATEROLE; commenting on a role one did not create takes, since
-- PostgreSQL 16, its ADMIN OPTION, so the comment is written when the role is created.
DO $role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgpolicy_analysts') THEN
        IF NOT (SELECT r.rolsuper OR r.rolcreaterole FROM pg_catalog.pg_roles r
                 WHERE r.rolname = current_user) THEN
            RAISE EXCEPTION 'the role pgpolicy_analysts does not exist and % may not create it: '
                'give it CREATEROLE, or create the role once (CREATE ROLE pgpolicy_analysts '
                'NOLOGIN)', current_user;
        END IF;
        CREATE ROLE pgpolicy_analysts NOLOGIN;
        COMMENT ON ROLE pgpolicy_analysts IS
            'Analyst logins of pgpolicy: policies apply to its members; each member is mapped '
            'to an Odoo user in pgpolicy.analyst of its database';
    END IF;
END
$role$;

CREATE TABLE pgpolicy.analyst (
    role_name name PRIMARY KEY,
    uid integer NOT NULL CHECK (uid > 0),
    company_ids integer[] CHECK (company_ids IS NULL OR (cardinality(company_ids) > 0
                                                        AND array_position(company_ids, NULL) IS NULL)),
    can_write boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE pgpolicy.analyst IS
    'Analyst logins: a LOGIN role whose every transaction has the context of an Odoo user '
    '(uid, companies; never superuser mode). Written by pgpolicy analyst add|remove';
REVOKE ALL ON pgpolicy.analyst FROM PUBLIC;

-- Whether the session is an analyst's. SECURITY DEFINER: the mapping is not readable by
-- the roles that call it.
CREATE FUNCTION pgpolicy.analyst_session() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT EXISTS (SELECT FROM pgpolicy.analyst a WHERE a.role_name = session_user) $$;
COMMENT ON FUNCTION pgpolicy.analyst_session() IS
    'Whether session_user is an analyst login (pgpolicy.analyst): its context comes from the '
    'mapping, never from settings';

CREATE FUNCTION pgpolicy.analyst_uid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT a.uid FROM pgpolicy.analyst a JOIN public.res_users u ON u.id = a.uid
     WHERE a.role_name = session_user AND u.active
$$;
COMMENT ON FUNCTION pgpolicy.analyst_uid() IS
    'The Odoo user of the analyst session, while it is active; NULL otherwise';

CREATE FUNCTION pgpolicy.analyst_company_ids() RETURNS integer[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    mapped integer[];
    uid integer := pgpolicy.analyst_uid();
    default_company integer;
    allowed integer[];
BEGIN
    IF uid IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT a.company_ids INTO mapped FROM pgpolicy.analyst a WHERE a.role_name = session_user;
    allowed := coalesce((SELECT array_agg(c.id ORDER BY c.sequence, c.name, c.id)
                           FROM public.res_company_users_rel r
                           JOIN public.res_company c ON c.id = r.cid
                          WHERE r.user_id = uid AND c.active), '{}');
    IF mapped IS NULL THEN
        SELECT u.company_id INTO default_company FROM public.res_users u WHERE u.id = uid;
        IF default_company = ANY (allowed) THEN
            RETURN default_company || array_remove(allowed, default_company);
        END IF;
        RETURN allowed;
    END IF;
    RETURN coalesce((SELECT array_agg(m.id ORDER BY m.n)
                       FROM unnest(mapped) WITH ORDINALITY AS m(id, n)
                      WHERE m.id = ANY (allowed)), '{}');
END
$$;
COMMENT ON FUNCTION pgpolicy.analyst_company_ids() IS
    'The companies of the analyst session: the mapping''s that are the user''s active '
    'companies, or the user''s default company then its other active companies';

-- The sealed text of an analyst session: made from the mapping (no seal to check).
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

CREATE OR REPLACE FUNCTION pgpolicy.profiles_of(uid integer, in_force boolean) RETURNS text[]
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
            AND (pgpolicy.analyst_session()
                 OR coalesce(current_setting('pgpolicy.profiles', true), '') = ''
                 OR p.name = ANY (string_to_array(current_setting('pgpolicy.profiles', true), ',')))))
$$;

-- set_context and set_profiles refuse an analyst session. The bodies of version 6 are kept;
-- a wrapper cannot be used (set_context must be called as a statement of its own), so the
-- refusal is a check in front: an event of this revision's own.
CREATE FUNCTION pgpolicy.refuse_analyst(what text) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF pgpolicy.analyst_session() THEN
        RAISE EXCEPTION 'pgpolicy.%: % is an analyst login: its context comes from its mapping '
                        'and cannot be changed', what, session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;
COMMENT ON FUNCTION pgpolicy.refuse_analyst(text) IS
    'Raise when session_user is an analyst login (set_context and set_profiles call it first)';
REVOKE ALL ON FUNCTION pgpolicy.refuse_analyst(text) FROM PUBLIC;

DO $refuse$
DECLARE
    fn text;
    definition text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text)',
        'pgpolicy.set_profiles(text[])']
    LOOP
        definition := pg_catalog.pg_get_functiondef(fn::pg_catalog.regprocedure);
        EXECUTE pg_catalog.regexp_replace(
            definition, E'\nBEGIN\n',
            pg_catalog.format(E'\nBEGIN\n    PERFORM pgpolicy.refuse_analyst(%L);  -- runtime 9\n',
                              pg_catalog.split_part(pg_catalog.split_part(fn, '(', 1), '.', 2)));
    END LOOP;
END
$refuse$;

-- The readers (SECURITY INVOKER SQL, inlined into plans) call these: granted with the other
-- readers by pgpolicy init to the app roles, and by pgpolicy analyst add to the analysts.
REVOKE ALL ON FUNCTION pgpolicy.analyst_session() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.analyst_uid() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.analyst_company_ids() FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '9'::text $$;

RESET check_function_bodies;
