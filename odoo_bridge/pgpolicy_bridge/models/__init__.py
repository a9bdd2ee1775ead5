from . import pgpolicy_bridge
