-- Back to runtime 11: the bodies as they were (quoted, resolved when they run) and the
-- PL/pgSQL functions without a pinned path (runtime_0012_bound.sql says why not to).

CREATE OR REPLACE FUNCTION pgpolicy.context_message()
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT pgpolicy.context_part(pg_backend_pid()::text)
        || pgpolicy.context_part(((extract(epoch FROM now()) * 1000000)::bigint)::text)
        || pgpolicy.context_part(current_setting('pgpolicy.uid', true))
        || pgpolicy.context_part(current_setting('pgpolicy.company_ids', true))
        || pgpolicy.context_part(current_setting('pgpolicy.su', true))
        || pgpolicy.context_part(current_setting('pgpolicy.profiles', true))
        || pgpolicy.context_part(current_setting('pgpolicy.shadow', true))
        || pgpolicy.context_part(current_setting('pgpolicy.lock', true))
$function$
;
CREATE OR REPLACE FUNCTION pgpolicy.context_part(value text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$ SELECT length(coalesce(value, ''))::text || ':' || coalesce(value, '') || ';' $function$
;
CREATE OR REPLACE FUNCTION pgpolicy.local_today()
 RETURNS date
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ SELECT (now() AT TIME ZONE pgpolicy.user_tz())::date $function$
;
CREATE OR REPLACE FUNCTION pgpolicy.planner()
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN l.lanname = 'c' THEN 'c' ELSE 'sql' END
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
     WHERE p.oid = 'pgpolicy.planned_uid()'::pg_catalog.regprocedure
$function$
;
CREATE OR REPLACE FUNCTION pgpolicy.today()
 RETURNS date
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ SELECT (now() AT TIME ZONE 'UTC')::date $function$
;
CREATE OR REPLACE FUNCTION pgpolicy.version()
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$ SELECT '11'::text $function$
;

ALTER FUNCTION pgpolicy.provenance_of(text) RESET search_path;
ALTER FUNCTION pgpolicy.shadow_denied(text, text, integer[], integer) RESET search_path;
ALTER FUNCTION pgpolicy.note_nested_plan() RESET search_path;
