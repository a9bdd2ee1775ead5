-- Remove the pgpolicy runtime, version 1: the reverse of runtime.sql. The schema itself
-- goes with alembic's version table, which lives in it (see alembic/env.py). Without
-- IF EXISTS: a downgrade that does not find what it installed is an error to look at.
DROP VIEW pgpolicy.policies;
DROP FUNCTION pgpolicy.provenance_of(text);
DROP FUNCTION pgpolicy.planned_write();
DROP FUNCTION pgpolicy.planned_system();
DROP FUNCTION pgpolicy.planned_context_key();
DROP FUNCTION pgpolicy.planned_group_ids();
DROP FUNCTION pgpolicy.planned_company_id();
DROP FUNCTION pgpolicy.planned_company_ids();
DROP FUNCTION pgpolicy.planned_in_groups(integer[]);
DROP FUNCTION pgpolicy.planned_su();
DROP FUNCTION pgpolicy.planned_uid();
DROP FUNCTION pgpolicy.group_ids();
DROP FUNCTION pgpolicy.company_id();
DROP FUNCTION pgpolicy.company_ids();
DROP FUNCTION pgpolicy.today();
DROP FUNCTION pgpolicy.context_key();
DROP FUNCTION pgpolicy.su();
DROP FUNCTION pgpolicy.uid();
DROP FUNCTION pgpolicy.set_context(integer, integer[], boolean);
DROP FUNCTION pgpolicy.version();
