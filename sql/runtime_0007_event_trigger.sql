-- pgpolicy runtime, version 7: the event trigger that protects relations created after
-- `apply` (sql/runtime_0007_lifecycle.sql). Only a superuser may create an event trigger:
-- revision 0007 runs this file when a superuser installs the runtime, never in managed mode.

CREATE EVENT TRIGGER pgpolicy_protect_new_relations ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE VIEW',
                 'CREATE SEQUENCE')
    EXECUTE FUNCTION pgpolicy.protect_new_relations();
