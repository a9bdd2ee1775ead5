"""Access profiles: the file format (`model`), templates, workbooks, storage in the runtime
tables, `pgpolicy check` and its satisfiability analysis, and their policy specs."""
