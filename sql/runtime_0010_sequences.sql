-- pgpolicy runtime, version 10: the PostgreSQL sequences of Odoo's ir.sequence, for the
-- serving role.
--
-- Odoo creates, alters and drops a PostgreSQL sequence for every ir.sequence record of the
-- 'standard' implementation (a new warehouse, a new company, a sequence made in Settings
-- -> Technical): CREATE SEQUENCE ir_sequence_NNN, ALTER SEQUENCE ... RESTART / INCREMENT,
-- DROP SEQUENCE. The serving role owns nothing and may not create in schema public, so
-- PostgreSQL refuses all three. These three functions do them for it, as the superuser
-- who installed the runtime, and only what the ir_sequence rows of the database ask for:
--
--   odoo_sequence_create(name, increment, start): the name is ir_sequence_<id> or
--       ir_sequence_<id>_<date range id> of an existing row (ir_sequence, or
--       ir_sequence_date_range of that sequence); the new sequence belongs to the owner of
--       table ir_sequence, like the others, and the app roles that may write ir_sequence
--       get USAGE, SELECT, UPDATE on it; it needs nothing from `pgpolicy apply`, so it is
--       not left pending;
--   odoo_sequence_alter(name, increment, restart): only to the values the row holds
--       (number_increment of the ir_sequence, number_next of the ir_sequence or of the date
--       range) of a sequence whose implementation is 'standard';
--   odoo_sequence_drop(names): only sequences whose row is gone or no longer 'standard'.
--
-- So a caller can only make the PostgreSQL sequences agree with rows the policies let it
-- write: SQL of the serving role gains no way to restart or drop the sequence of a row it
-- may not change. No table, column, function or view can be made through them.

SET LOCAL check_function_bodies = off;

-- (sequence id, date range id or NULL) of an Odoo sequence name, or NULL when the name is
-- not one Odoo gives ("ir_sequence_%03d", "ir_sequence_%03d_%03d").
CREATE FUNCTION pgpolicy.odoo_sequence_ids(seq_name text, OUT seq_id integer,
                                           OUT range_id integer)
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    parts text[] := regexp_match(seq_name, '^ir_sequence_([0-9]{3,9})(?:_([0-9]{3,9}))?$');
BEGIN
    IF parts IS NULL THEN
        RAISE EXCEPTION 'pgpolicy: % is not the name of an Odoo sequence (ir_sequence_<id>)',
            seq_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    seq_id := parts[1]::integer;
    range_id := parts[2]::integer;
END
$$;

-- The row behind a sequence name: its implementation, increment and next number.
CREATE FUNCTION pgpolicy.odoo_sequence_row(seq_name text, OUT row_found boolean,
                                           OUT implementation text, OUT increment bigint,
                                           OUT next_number bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    ids record;
BEGIN
    SELECT * INTO ids FROM pgpolicy.odoo_sequence_ids(seq_name);
    row_found := false;
    IF ids.range_id IS NULL THEN
        SELECT true, s.implementation, s.number_increment, s.number_next
          INTO row_found, implementation, increment, next_number
          FROM public.ir_sequence s WHERE s.id = ids.seq_id;
    ELSE
        SELECT true, s.implementation, s.number_increment, r.number_next
          INTO row_found, implementation, increment, next_number
          FROM public.ir_sequence_date_range r JOIN public.ir_sequence s ON s.id = r.sequence_id
         WHERE r.id = ids.range_id AND s.id = ids.seq_id;
    END IF;
    row_found := coalesce(row_found, false);
END
$$;

CREATE FUNCTION pgpolicy.odoo_sequence_create(seq_name text, increment bigint, start bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    src record;
    grantee name;
BEGIN
    SELECT * INTO src FROM pgpolicy.odoo_sequence_row(seq_name);
    IF NOT src.row_found THEN
        RAISE EXCEPTION 'pgpolicy: no ir.sequence row for sequence %', seq_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF increment IS NULL OR increment = 0 OR start IS NULL THEN
        RAISE EXCEPTION 'pgpolicy: sequence % needs a non-zero increment and a start', seq_name;
    END IF;
    EXECUTE format('CREATE SEQUENCE public.%I INCREMENT BY %s START WITH %s',
                   seq_name, increment, start);
    EXECUTE format('ALTER SEQUENCE public.%I OWNER TO %I', seq_name,
                   (SELECT pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                     WHERE c.oid = 'public.ir_sequence'::regclass));
    FOR grantee IN
        SELECT r.rolname FROM pg_catalog.pg_roles r
         WHERE pgpolicy.is_app_role(r.oid)
           AND has_table_privilege(r.oid, 'public.ir_sequence', 'UPDATE')
    LOOP
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.%I TO %I',
                       seq_name, grantee);
    END LOOP;
    -- Recorded by the event trigger; a sequence needs nothing from `pgpolicy apply`.
    DELETE FROM pgpolicy.pending_relation
     WHERE schema_name = 'public' AND relation_name = seq_name AND kind = 'sequence';
END
$$;
COMMENT ON FUNCTION pgpolicy.odoo_sequence_create(text, bigint, bigint) IS
    'CREATE SEQUENCE for an existing ir.sequence row (ir_sequence_<id>[_<range id>]), owned '
    'like Odoo''s tables and granted to the app roles: Odoo''s standard sequences for the '
    'serving role';

CREATE FUNCTION pgpolicy.odoo_sequence_alter(seq_name text, increment bigint, restart bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    src record;
BEGIN
    SELECT * INTO src FROM pgpolicy.odoo_sequence_row(seq_name);
    IF to_regclass(format('public.%I', seq_name)) IS NULL THEN
        RETURN;  -- as Odoo: not created yet
    END IF;
    IF NOT src.row_found OR src.implementation IS DISTINCT FROM 'standard'
       OR (increment IS NOT NULL AND increment IS DISTINCT FROM src.increment)
       OR (restart IS NOT NULL AND restart IS DISTINCT FROM src.next_number) THEN
        RAISE EXCEPTION 'pgpolicy: sequence % may only follow its ir.sequence row '
                        '(increment %, next number %)', seq_name, src.increment, src.next_number
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF increment IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE public.%I INCREMENT BY %s', seq_name, increment);
    END IF;
    IF restart IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE public.%I RESTART WITH %s', seq_name, restart);
    END IF;
END
$$;
COMMENT ON FUNCTION pgpolicy.odoo_sequence_alter(text, bigint, bigint) IS
    'ALTER SEQUENCE of a standard ir.sequence to the increment and next number its row holds';

CREATE FUNCTION pgpolicy.odoo_sequence_drop(seq_names text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seq_name text;
    src record;
BEGIN
    FOREACH seq_name IN ARRAY coalesce(seq_names, '{}') LOOP
        SELECT * INTO src FROM pgpolicy.odoo_sequence_row(seq_name);
        IF src.row_found AND src.implementation = 'standard' THEN
            RAISE EXCEPTION 'pgpolicy: sequence % still backs a standard ir.sequence row',
                seq_name USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP SEQUENCE IF EXISTS public.%I RESTRICT', seq_name);
    END LOOP;
END
$$;
COMMENT ON FUNCTION pgpolicy.odoo_sequence_drop(text[]) IS
    'DROP SEQUENCE of ir.sequence rows that are gone or no longer standard';

REVOKE ALL ON FUNCTION pgpolicy.odoo_sequence_ids(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.odoo_sequence_row(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.odoo_sequence_create(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.odoo_sequence_alter(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.odoo_sequence_drop(text[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '10'::text $$;

RESET check_function_bodies;
