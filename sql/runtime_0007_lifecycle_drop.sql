-- Back to pgpolicy runtime version 6: no event trigger, no record of pending relations.
-- The pgpolicy_pending policies it created stay (they call only functions of version 1):
-- `pgpolicy apply` replaces them on tables it compiles.

DROP EVENT TRIGGER IF EXISTS pgpolicy_protect_new_relations;  -- none in managed mode
DROP FUNCTION pgpolicy.protect_new_relations();
DROP FUNCTION pgpolicy.pending_count();
DROP FUNCTION pgpolicy.is_app_role(oid);
DROP TABLE pgpolicy.pending_relation;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '6'::text $$;
