"""Where SQL becomes DDL and DDL is deployed: the desired policy set, the deployed state,
plan, DDL, one-transaction apply, the runtime schema, its options and health."""
