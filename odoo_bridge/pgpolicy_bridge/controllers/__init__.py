from . import profiles
