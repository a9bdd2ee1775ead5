-- Remove access profiles: the reverse of runtime_0002.sql (back to runtime version 1).
DROP FUNCTION pgpolicy.check_locked(regclass, name, integer, anyelement, text, text);
DROP FUNCTION pgpolicy.login_allowed(integer);
DROP FUNCTION pgpolicy.local_today();
DROP FUNCTION pgpolicy.user_tz();
DROP FUNCTION pgpolicy.planned_profile_in_force(text);
DROP FUNCTION pgpolicy.planned_in_profiles(text[]);
DROP FUNCTION pgpolicy.set_profiles(text[]);
DROP FUNCTION pgpolicy.profile_names();
DROP FUNCTION pgpolicy.profiles_of(integer, boolean);
DROP FUNCTION pgpolicy.member_profiles(integer);
DROP TABLE pgpolicy.login_attempt;
DROP TABLE pgpolicy.profile_audit;
DROP TABLE pgpolicy.profile_member;
DROP TABLE pgpolicy.profile;
DROP FUNCTION pgpolicy.audit_profile_change();
CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '1'::text $$;
