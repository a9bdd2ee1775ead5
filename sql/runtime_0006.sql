-- pgpolicy runtime, version 6: a context that only set_context() can establish.
--
-- Until version 5 the context was whatever the settings pgpolicy.* said, and any role may
-- write a setting: `SET pgpolicy.uid = '1'` (left on a pooled connection for the next
-- user), `set_config('pgpolicy.su', 'true', true)` inside a sub-select of an injected
-- query, a session-level pgpolicy.shadow. Now (docs/semantics.md, "An unforgeable
-- context"):
--
-- 1. The seal. set_context() (SECURITY DEFINER) writes, besides the transaction-local
--    settings, pgpolicy.seal: an HMAC-SHA-256, under a key in pgpolicy.context_secret
--    that only the runtime's owner can read, of every setting of the context bound to the
--    transaction (the backend's pid and the transaction's start, to the microsecond).
--    Every reader -- uid(), and through it su(), company_ids(), group_ids(), the
--    plan-time functions, the profiles -- and the context gate (context_key()) read the
--    context only when sealed_context() finds the seal matching. A setting written by
--    hand, one left from another transaction or session, or one changed while a
--    statement runs: no seal matches, no access.
-- 2. The lock. set_context(..., next_token_hash => sha256 of a secret) locks the context
--    of the transaction: from then on only a call presenting that secret (token => ...)
--    may change it, and it must register the hash of the next secret (one-time tokens: a
--    secret seen in the text of a statement is spent already). The lock is a setting
--    under the seal, plus a lock on the relation pgpolicy.context_lock held until the
--    transaction ends, which no SQL can release: a context whose settings were erased
--    after it was locked cannot be set again in that transaction. Without tokens (psql,
--    tools) set_context works as before.
-- 3. set_context() refuses to be called from inside another statement or function (the
--    PL/pgSQL call stack has more than its own frame): values folded while a statement
--    is planned all belong to one context.
-- 4. Shadow mode and the enabled profiles are arguments of set_context (and sealed); the
--    settings pgpolicy.shadow and pgpolicy.profiles written by hand count for nothing.
-- 5. context_key() is the sealed text itself: each part prefixed by its length, so two
--    contexts never share a key.
-- 6. planned_write() looks past a leading CLOSE ALL (the bridge's first statement of each
--    transaction closes the cursors a WITH HOLD could have kept).

-- Installed before Odoo creates its tables too (see runtime.sql).
SET LOCAL check_function_bodies = off;

-- ---------------------------------------------------------------------------------------
-- The key. HMAC (RFC 2104) with a 64-byte key, kept as its two padded forms so that a
-- seal costs two sha256() calls. 64 random bytes from gen_random_uuid(), which draws
-- from the server's strong random source (122 random bits each).
CREATE TABLE pgpolicy.context_secret (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64)
);
COMMENT ON TABLE pgpolicy.context_secret IS
    'The key that seals the context (HMAC-SHA-256, as its inner and outer padded forms). '
    'Readable by the runtime''s owner only: whoever reads it can forge any context';
REVOKE ALL ON pgpolicy.context_secret FROM PUBLIC;

DO $key$
DECLARE
    key bytea := pg_catalog.decode(pg_catalog.replace(
        pg_catalog.gen_random_uuid()::pg_catalog.text
        OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::pg_catalog.text
        OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::pg_catalog.text
        OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::pg_catalog.text, '-', ''), 'hex');
    inner_pad bytea := key;
    outer_pad bytea := key;
BEGIN
    FOR i IN 0..63 LOOP
        inner_pad := pg_catalog.set_byte(inner_pad, i,
                                         pg_catalog.get_byte(key, i) OPERATOR(pg_catalog.#) 54);
        outer_pad := pg_catalog.set_byte(outer_pad, i,
                                         pg_catalog.get_byte(key, i) OPERATOR(pg_catalog.#) 92);
    END LOOP;
    INSERT INTO pgpolicy.context_secret (inner_pad, outer_pad) VALUES (inner_pad, outer_pad);
END
$key$;

-- Held (ACCESS SHARE, by set_context reading it) from the first locked set_context of a
-- transaction until the transaction ends. Empty; nobody but the owner may read it.
CREATE TABLE pgpolicy.context_lock ();
COMMENT ON TABLE pgpolicy.context_lock IS
    'Locked by set_context(..., next_token_hash => ...) until the transaction ends: the mark, '
    'which no SQL can take back, that the context of the transaction was locked';
REVOKE ALL ON pgpolicy.context_lock FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- The text that is sealed: the transaction (backend pid, start in microseconds since the
-- epoch, neither depending on any setting) and every setting of the context, each as
-- <length>:<text>; so that no two contexts share a text. Inlinable SQL.
CREATE FUNCTION pgpolicy.context_part(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT length(coalesce(value, ''))::text || ':' || coalesce(value, '') || ';' $$;
COMMENT ON FUNCTION pgpolicy.context_part(text) IS
    'One part of the sealed context text: its length, a colon, the text, a semicolon';

CREATE FUNCTION pgpolicy.context_message() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT pgpolicy.context_part(pg_backend_pid()::text)
        || pgpolicy.context_part(((extract(epoch FROM now()) * 1000000)::bigint)::text)
        || pgpolicy.context_part(current_setting('pgpolicy.uid', true))
        || pgpolicy.context_part(current_setting('pgpolicy.company_ids', true))
        || pgpolicy.context_part(current_setting('pgpolicy.su', true))
        || pgpolicy.context_part(current_setting('pgpolicy.profiles', true))
        || pgpolicy.context_part(current_setting('pgpolicy.shadow', true))
        || pgpolicy.context_part(current_setting('pgpolicy.lock', true))
$$;
COMMENT ON FUNCTION pgpolicy.context_message() IS
    'The settings of the context and the transaction they are bound to, as one unambiguous '
    'text (what pgpolicy.seal authenticates)';

-- The seal of a text. Never granted: whoever may call it can forge any context.
CREATE FUNCTION pgpolicy.context_seal(message text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    pads record;
BEGIN
    SELECT s.inner_pad, s.outer_pad INTO pads FROM pgpolicy.context_secret s;
    RETURN encode(sha256(pads.outer_pad || sha256(pads.inner_pad || convert_to(message, 'UTF8'))),
                  'hex');
END
$$;
COMMENT ON FUNCTION pgpolicy.context_seal(text) IS
    'HMAC-SHA-256 of the text under pgpolicy.context_secret, in hex. Granted to nobody';

-- The one check every reader makes: the sealed text when pgpolicy.seal is the seal of the
-- current settings in the current transaction, else NULL (no access).
CREATE FUNCTION pgpolicy.sealed_context() RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seal text := current_setting('pgpolicy.seal', true);
    message text;
    pads record;
BEGIN
    IF seal IS NULL OR length(seal) <> 64 THEN
        RETURN NULL;
    END IF;
    message := pgpolicy.context_message();
    -- context_seal(message), written out: this runs about twenty times per protected table
    -- a statement plans, and a call of a SECURITY DEFINER function costs.
    SELECT s.inner_pad, s.outer_pad INTO pads FROM pgpolicy.context_secret s;
    IF encode(sha256(pads.outer_pad || sha256(pads.inner_pad || convert_to(message, 'UTF8'))),
              'hex') = seal THEN
        RETURN message;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgpolicy.sealed_context() IS
    'The context of the current transaction as set by set_context (its sealed text), or NULL '
    'when the settings were not written by set_context in this transaction';

-- ---------------------------------------------------------------------------------------
-- The readers: as in version 5, but a context counts only when sealed. su(), company_ids(),
-- company_id(), group_ids(), the plan-time functions and the profiles all read the uid
-- through uid(); the gate reads context_key().
CREATE OR REPLACE FUNCTION pgpolicy.uid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN pgpolicy.sealed_context() IS NOT NULL
                THEN current_setting('pgpolicy.uid', true)::integer END
$$;

CREATE OR REPLACE FUNCTION pgpolicy.context_key() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT pgpolicy.sealed_context() $$;
COMMENT ON FUNCTION pgpolicy.context_key() IS
    'The context of the current transaction as one text (each setting and the transaction, '
    'length-prefixed); NULL unless set_context set it in this transaction. Read by the '
    'context gate of every protected table';

-- The bridge's first statement of a transaction starts with CLOSE ALL (no cursor of an
-- earlier transaction stays open), then its set_context call: an UPDATE or INSERT behind
-- both is still a write.
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
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT (after the bridge''s '
    'prefix: CLOSE ALL, one pgpolicy.set_context call, one pgpolicy.set_profiles call). '
    'IMMUTABLE on purpose: folded at plan time so read queries never carry the own-writes term';

-- ---------------------------------------------------------------------------------------
-- set_context: the single entry point. Replaces version 1's set_context(integer,
-- integer[], boolean): calls with three arguments read the same.
DROP FUNCTION pgpolicy.set_context(integer, integer[], boolean);

CREATE FUNCTION pgpolicy.set_context(uid integer, company_ids integer[],
                                     su boolean DEFAULT false, shadow boolean DEFAULT false,
                                     profiles text[] DEFAULT NULL, token text DEFAULT NULL,
                                     next_token_hash text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    stack text;
    held_lock text;
    unknown text[];
BEGIN
    -- Called by a statement of its own: the only frame on the stack is this function's.
    -- From a function the planner evaluates, from query_to_xml(), ts_stat() or a trigger,
    -- there are more, and values folded before and after the call would mix contexts.
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_context: call it as a statement of its own, not from '
                        'inside another statement or function'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF uid IS NULL OR uid <= 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_context: uid must be a positive integer, got %',
            coalesce(uid::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF su IS NULL OR shadow IS NULL THEN
        RAISE EXCEPTION 'pgpolicy.set_context: su and shadow must be true or false, got NULL'
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
    IF profiles IS NOT NULL AND (cardinality(profiles) = 0 OR array_ndims(profiles) > 1) THEN
        RAISE EXCEPTION 'pgpolicy.set_context: profiles must be NULL (all) or a list of names'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF next_token_hash IS NOT NULL AND next_token_hash !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'pgpolicy.set_context: next_token_hash must be a sha256 in lowercase hex'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The lock of the transaction's context, if any.
    IF pgpolicy.sealed_context() IS NOT NULL THEN
        held_lock := current_setting('pgpolicy.lock', true);
    ELSIF EXISTS (SELECT FROM pg_lock_status() l
                   WHERE l.locktype = 'relation'
                     AND l.relation = 'pgpolicy.context_lock'::regclass
                     AND l.pid = pg_backend_pid()) THEN
        RAISE EXCEPTION 'pgpolicy.set_context: the context of this transaction was locked, '
                        'then its settings were changed; end the transaction'
            USING ERRCODE = 'insufficient_privilege';
    ELSE
        held_lock := '';
    END IF;
    IF held_lock <> '' THEN
        IF token IS NULL OR encode(sha256(convert_to(token, 'UTF8')), 'hex') <> held_lock THEN
            RAISE EXCEPTION 'pgpolicy.set_context: the context of this transaction is locked; '
                            'only the holder of its token may change it'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF next_token_hash IS NULL THEN
            RAISE EXCEPTION 'pgpolicy.set_context: a locked context stays locked: give '
                            'next_token_hash'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF next_token_hash IS NOT NULL THEN
        PERFORM FROM pgpolicy.context_lock;  -- the lock on it lasts until the transaction ends
    END IF;

    -- One statement: DISCARD PLANS (below, SQL plan-time functions) makes every statement
    -- of this function be planned again at its next call.
    PERFORM set_config('pgpolicy.uid', uid::text, true),
            set_config('pgpolicy.company_ids',
                       CASE WHEN coalesce(cardinality(company_ids), 0) = 0 THEN 'default'
                            ELSE array_to_string(company_ids, ',') END,
                       true),
            set_config('pgpolicy.su', CASE WHEN su THEN 'true' ELSE 'false' END, true),
            set_config('pgpolicy.profiles', '', true),
            set_config('pgpolicy.shadow', CASE WHEN shadow THEN 'true' ELSE 'false' END, true),
            set_config('pgpolicy.lock', coalesce(next_token_hash, ''), true);
    PERFORM set_config('pgpolicy.seal', pgpolicy.context_seal(pgpolicy.context_message()), true);
    IF profiles IS NOT NULL THEN
        unknown := ARRAY(SELECT n FROM unnest(profiles) AS n
                          WHERE n IS NULL OR n !~ '^[a-z][a-z0-9_-]{0,62}$'
                             OR NOT n = ANY (pgpolicy.profile_names()));
        IF cardinality(unknown) > 0 THEN
            RAISE EXCEPTION 'pgpolicy.set_context: not a profile of user %: %',
                uid, array_to_string(unknown, ', ', 'NULL')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM set_config('pgpolicy.profiles', array_to_string(profiles, ','), true);
        PERFORM set_config('pgpolicy.seal', pgpolicy.context_seal(pgpolicy.context_message()),
                           true);
    END IF;
    -- Policies fold the context into plans: a plan cached under another must be made again.
    PERFORM pgpolicy.forget_context_plans();
END
$$;
COMMENT ON FUNCTION pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text) IS
    'Say who is asking, for the current transaction only: Odoo uid, allowed companies (the '
    'first is the current company; NULL or empty = all the user''s active companies), '
    'superuser mode, shadow mode, the enabled profiles (NULL = all). next_token_hash locks '
    'the context: later calls in the transaction must give the token it is the sha256 of. '
    'Refused from inside another statement. Discards cached plans';

-- set_profiles: as before, for contexts that are not locked, and sealed again.
CREATE OR REPLACE FUNCTION pgpolicy.set_profiles(names text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    stack text;
    unknown text[];
BEGIN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF strpos(stack, E'\n') > 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: call it as a statement of its own, not from '
                        'inside another statement or function'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF pgpolicy.uid() IS NULL THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: call pgpolicy.set_context first'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF current_setting('pgpolicy.lock', true) <> '' THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: the context of this transaction is locked; '
                        'give the profiles to set_context'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF names IS NULL OR cardinality(names) = 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: give at least one profile'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    unknown := ARRAY(SELECT n FROM unnest(names) AS n
                      WHERE n IS NULL OR n !~ '^[a-z][a-z0-9_-]{0,62}$'
                         OR NOT n = ANY (pgpolicy.profile_names()));
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION 'pgpolicy.set_profiles: not a profile of user %: %',
            pgpolicy.uid(), array_to_string(unknown, ', ', 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('pgpolicy.profiles', array_to_string(names, ','), true);
    PERFORM set_config('pgpolicy.seal', pgpolicy.context_seal(pgpolicy.context_message()), true);
    PERFORM pgpolicy.forget_context_plans();  -- policies fold the enabled profiles in
END
$$;
COMMENT ON FUNCTION pgpolicy.set_profiles(text[]) IS
    'Narrow the current transaction to some of the user''s profiles (after set_context, when '
    'it is not locked): the others grant nothing but still restrict. Discards cached plans';

REVOKE ALL ON FUNCTION pgpolicy.context_part(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.context_message() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.context_seal(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.sealed_context() FROM PUBLIC;
REVOKE ALL ON FUNCTION
    pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text) FROM PUBLIC;

-- The app roles that could set a context before may still: the new signature is granted
-- to whoever was granted the old one (pgpolicy init grants it from now on).
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
            'GRANT EXECUTE ON FUNCTION pgpolicy.set_context(integer, integer[], boolean, '
            'boolean, text[], text, text), pgpolicy.sealed_context() TO %s', grantee);
    END LOOP;
END
$grant$;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '6'::text $$;

RESET check_function_bodies;
