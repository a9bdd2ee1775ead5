-- The plan-time functions in C (sql/planner/pgpolicy_planner.c): `pgpolicy planner on` runs
-- this file. The library must be installed on the server first (`make -C sql/planner
-- install`); without it the first statement fails and nothing changes. CREATE OR REPLACE
-- keeps each function's identity, so the policies calling them, their comments and their
-- grants are untouched. `pgpolicy planner off` (sql/planned_sql.sql) goes back. The
-- run-time readers uid(), su() and context_key() are replaced too (the same C code).

CREATE OR REPLACE FUNCTION pgpolicy.uid() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_uid';

CREATE OR REPLACE FUNCTION pgpolicy.su() RETURNS boolean
    LANGUAGE c STABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_su';

CREATE OR REPLACE FUNCTION pgpolicy.context_key() RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_context_key';

CREATE OR REPLACE FUNCTION pgpolicy.planned_uid() RETURNS integer
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_uid';

CREATE OR REPLACE FUNCTION pgpolicy.planned_su() RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_su';

CREATE OR REPLACE FUNCTION pgpolicy.planned_in_groups(gids integer[]) RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_in_groups';

CREATE OR REPLACE FUNCTION pgpolicy.planned_company_ids() RETURNS integer[]
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_company_ids';

CREATE OR REPLACE FUNCTION pgpolicy.planned_company_id() RETURNS integer
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_company_id';

CREATE OR REPLACE FUNCTION pgpolicy.planned_group_ids() RETURNS integer[]
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_group_ids';

CREATE OR REPLACE FUNCTION pgpolicy.planned_context_key() RETURNS text
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_context_key';

CREATE OR REPLACE FUNCTION pgpolicy.planned_system() RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_system';

CREATE OR REPLACE FUNCTION pgpolicy.planned_shadow() RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_shadow';

CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_planned_write';

CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE c VOLATILE
    AS '$libdir/pgpolicy_planner', 'pgpolicy_forget_context_plans';
