-- pgpolicy runtime, version 10 (continued): what Odoo's security catalog looked like at the
-- last `pgpolicy apply`, so that Odoo's side can tell, without compiling anything, that it
-- changed since (a module install, upgrade or uninstall, a rule edited in Settings).
--
-- pgpolicy.odoo_rules_fingerprint() digests what the compiled policies are made from:
-- record rules (domain, modes, active, global) and their groups, access rights, models,
-- and the fields (name, type, relation, relation table, stored). `pgpolicy apply` records
-- it; pgpolicy.odoo_rules_changed() compares (NULL when no apply recorded one). The bridge
-- asks at every registry load and reminds to apply; it is a reminder, not a proof: `status`
-- compiles and compares the policies themselves.

SET LOCAL check_function_bodies = off;

CREATE TABLE pgpolicy.applied_rules (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text,  -- NULL: the database lacks a table or column it is made from
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgpolicy.applied_rules IS
    'The digest of Odoo''s rules, access rights, models and fields at the last pgpolicy apply';
REVOKE ALL ON pgpolicy.applied_rules FROM PUBLIC;

CREATE FUNCTION pgpolicy.odoo_rules_fingerprint() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', r.id, r.model_id, r.domain_force, r.active,
                                     r.perm_read, r.perm_write, r.perm_create, r.perm_unlink),
                           ';' ORDER BY r.id) FROM public.ir_rule r),
        (SELECT string_agg(concat_ws(',', g.rule_group_id, g.group_id), ';'
                           ORDER BY g.rule_group_id, g.group_id) FROM public.rule_group_rel g),
        (SELECT string_agg(concat_ws(',', a.id, a.model_id, a.group_id, a.active, a.perm_read,
                                     a.perm_write, a.perm_create, a.perm_unlink),
                           ';' ORDER BY a.id) FROM public.ir_model_access a),
        (SELECT string_agg(concat_ws(',', m.id, m.model), ';' ORDER BY m.id)
           FROM public.ir_model m),
        (SELECT string_agg(concat_ws(',', f.id, f.model, f.name, f.ttype, f.relation,
                                     f.relation_table, f.store), ';' ORDER BY f.id)
           FROM public.ir_model_fields f)));
EXCEPTION WHEN undefined_table OR undefined_column THEN
    RETURN NULL;  -- not an Odoo schema this digest knows: no reminder, never a failed apply
END
$$;
COMMENT ON FUNCTION pgpolicy.odoo_rules_fingerprint() IS
    'Digest of what the compiled policies are made from: rules and their groups, access '
    'rights, models, fields';

CREATE FUNCTION pgpolicy.record_applied_rules() RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    INSERT INTO pgpolicy.applied_rules (fingerprint) VALUES (pgpolicy.odoo_rules_fingerprint())
    ON CONFLICT (singleton) DO UPDATE SET fingerprint = excluded.fingerprint,
                                          applied_at = excluded.applied_at
$$;

-- Whether the rules changed since the last apply; NULL before the first recorded apply.
CREATE FUNCTION pgpolicy.odoo_rules_changed() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT a.fingerprint IS NOT NULL AND a.fingerprint <> pgpolicy.odoo_rules_fingerprint()
      FROM pgpolicy.applied_rules a
$$;
COMMENT ON FUNCTION pgpolicy.odoo_rules_changed() IS
    'Whether Odoo''s rules, access rights, models or fields changed since the last pgpolicy '
    'apply (NULL: no apply recorded); for the bridge''s reminder';

REVOKE ALL ON FUNCTION pgpolicy.odoo_rules_fingerprint() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.record_applied_rules() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpolicy.odoo_rules_changed() FROM PUBLIC;

RESET check_function_bodies;
