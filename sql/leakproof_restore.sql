-- Put back the LEAKPROOF flag of every function `pgpolicy like-leakproof on` marked, as it was
-- before (pgpolicy.leakproof_before, runtime revision 6), and forget the record. Run by
-- `pgpolicy like-leakproof off` and by the downgrade of runtime revision 6. Every name is
-- schema-qualified: it runs under whatever search_path the session has.
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT b.function, b.leakproof FROM pgpolicy.leakproof_before AS b LOOP
        IF pg_catalog.to_regprocedure('pg_catalog.' OPERATOR(pg_catalog.||) item.function)
           IS NOT NULL THEN
            EXECUTE pg_catalog.format(
                'ALTER FUNCTION pg_catalog.%s %s', item.function,
                CASE WHEN item.leakproof THEN 'LEAKPROOF' ELSE 'NOT LEAKPROOF' END);
        END IF;
    END LOOP;
    DELETE FROM pgpolicy.leakproof_before;
END
$$;
