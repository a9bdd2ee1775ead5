-- Back to pgpolicy runtime version 9: the serving role cannot make Odoo's sequences.

DROP FUNCTION pgpolicy.odoo_sequence_drop(text[]);
DROP FUNCTION pgpolicy.odoo_sequence_alter(text, bigint, bigint);
DROP FUNCTION pgpolicy.odoo_sequence_create(text, bigint, bigint);
DROP FUNCTION pgpolicy.odoo_sequence_row(text);
DROP FUNCTION pgpolicy.odoo_sequence_ids(text);

CREATE OR REPLACE FUNCTION pgpolicy.version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT '9'::text $$;
