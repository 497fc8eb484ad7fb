"""What names in the runs API look like (SPEC §7): runs, splits, batch ids and alert rules."""

# 1–128 of A-Za-z0-9._:-, starting with a letter or digit.
RUN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
# 1–64 of A-Za-z0-9._:- (train, validation, production, …).
SPLIT = r"^[A-Za-z0-9._:\-]{1,64}$"
DEFAULT_SPLIT = "default"
# 1–128 of A-Za-z0-9._:- (a client's idempotency key).
BATCH_ID = r"^[A-Za-z0-9._:\-]{1,128}$"
# 1–64 of A-Za-z0-9._:-, starting with a letter or digit.
RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
