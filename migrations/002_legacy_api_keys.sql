-- The legacy X-API-Key scheme the auth service replaces: one or more static keys per customer,
-- stored hashed. Kept until every caller has moved to app tokens (npm run bootstrap).
CREATE TABLE IF NOT EXISTS public.api_keys (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id  uuid        NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    key_hash     text        NOT NULL UNIQUE,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX IF NOT EXISTS api_keys_customer_id_idx ON public.api_keys (customer_id);
