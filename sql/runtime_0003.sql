-- pgpolicy runtime, version 3: the bridge's prefixed statements, and shadow mode.
--
-- The Odoo bridge sends the context in the same query string as the first statement of
-- each transaction: `SELECT pgpolicy.set_context(...);` then the statement (no extra
-- round trip). planned_write() reads the text of the top-level query string, which then
-- starts with that call: it now looks past one leading set_context call, so an UPDATE or
-- INSERT that carries its context is still recognised as a write. Anything else still
-- reads as "not a write" (fail closed).
--
-- Shadow mode, for a safe rollout: with the transaction-local setting pgpolicy.shadow =
-- 'true' (the bridge sets it, before set_context, when configured to), a mirror policy
-- (Odoo's rules and access rights, compiled) that would deny a row admits it and reports
-- it with a WARNING naming the table, the policy, the ir_rule / ir_model_access ids and
-- the row. Gates (the context gate: no context, no rows) still deny. The mirrors carry
-- the report as their last alternative, guarded by planned_shadow(), which is folded
-- at plan time like planned_su(): when shadow mode is off the report is planned away
-- and costs nothing; when it is on, every denied row costs a PL/pgSQL call and a
-- message.

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce(current_query()
                    ~* ('^\s*(select\s+set_config\(''pgpolicy\.shadow''[^;]*;\s*)?'
        '(select\s+pgpolicy\.set_context\([^;]*\)\s*;\s*)?(update|insert)\s'),
                    false);
END
$$;
COMMENT ON FUNCTION pgpolicy.planned_write() IS
    'Whether the top-level statement being planned is an UPDATE or INSERT (after one leading '
    'pgpolicy.set_context call, as the bridge sends it). IMMUTABLE on purpose: folded at plan '
    'time so read queries never carry the own-writes term';

CREATE FUNCTION pgpolicy.planned_shadow() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    RETURN coalesce(current_setting('pgpolicy.shadow', true) = 'true'
                    AND pgpolicy.uid() IS NOT NULL, false);
END
$$;
COMMENT ON FUNCTION pgpolicy.planned_shadow() IS
    'Whether shadow mode is on as of planning (pgpolicy.shadow = ''true'' and a valid context). '
    'IMMUTABLE on purpose, as planned_su(): folded into the plan, so that mirrors carry no '
    'report when it is off';

-- Reports and admits. VOLATILE: called for each row a mirror would deny, never folded.
-- PARALLEL SAFE: it only raises a message (workers pass theirs to the leader). Every
-- mirror mentions it, and the planner decides on parallel query from the whole statement
-- before folding: a parallel-unsafe call would turn parallel query off for every
-- statement on a protected table, shadow mode or not.
CREATE FUNCTION pgpolicy.shadow_denied(tbl text, policy text, source_ids integer[], row_id integer)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL SAFE
    AS $$
BEGIN
    RAISE WARNING 'pgpolicy shadow: would deny % row % to uid % (policy %, source ids %)',
        tbl, row_id, pgpolicy.uid(), policy, source_ids;
    RETURN true;
END
$$;
COMMENT ON FUNCTION pgpolicy.shadow_denied(text, text, integer[], integer) IS
    'Shadow mode: report (WARNING) that a mirror policy would deny this row, and admit it';
REVOKE ALL ON FUNCTION pgpolicy.planned_shadow() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.shadow_denied(text, text, integer[], integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '3'::text $$;
