-- Limits other than the account lockout: one row per limited key (e.g. a
-- client address and an account, or an address that registers), counting the
-- attempts in the current fixed window. An attempt is reserved here,
-- atomically, *before* the slow check it guards (Argon2, mail), so parallel
-- requests and several replicas cannot slip past the limit.
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    count         BIGINT NOT NULL
);

CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
