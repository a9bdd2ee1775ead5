from . import pgpolicy_bridge, runtime_ddl
