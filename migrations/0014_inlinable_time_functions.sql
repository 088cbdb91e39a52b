-- The exact-microsecond time conversions of 0011 were declared IMMUTABLE, but their bodies are
-- STABLE (timestamptz arithmetic and extract on a timestamptz depend on the session), so
-- PostgreSQL never inlined them: every written row ran each one as a separate SQL function call
-- (parsed and planned per statement). Declared as what they are, they are inlined into the
-- statements that use them. Same results.
ALTER FUNCTION beacon_from_epoch_us(bigint) STABLE;
ALTER FUNCTION beacon_epoch_us(timestamptz) STABLE;
