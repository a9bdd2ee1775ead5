-- Back to pgpolicy runtime version 7, after sql/leakproof_restore.sql has put the LEAKPROOF
-- flags back as they were before `pgpolicy like-leakproof on`.

DROP TABLE pgpolicy.leakproof_before;

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '7'::text $$;
