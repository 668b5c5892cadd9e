-- The auth service's own schema.
CREATE SCHEMA IF NOT EXISTS auth;

-- One ES256 key pair per customer at a time; older ones stay until their last token expires.
-- The private key is stored only as AES-256-GCM ciphertext under AUTH_MASTER_KEY, with the
-- customer id, kid and master key id bound into the associated data.
CREATE TABLE IF NOT EXISTS auth.signing_keys (
    kid                  text        PRIMARY KEY,
    customer_id          uuid        NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    public_jwk           jsonb       NOT NULL,
    private_key_nonce    bytea       NOT NULL CHECK (octet_length(private_key_nonce) = 12),
    private_key_ct       bytea       NOT NULL,
    private_key_tag      bytea       NOT NULL CHECK (octet_length(private_key_tag) = 16),
    master_key_id        text        NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- Signs from this moment: publication in the JWKS comes first.
    activates_at         timestamptz NOT NULL DEFAULT now(),
    -- Set when a newer key takes over; the key stays in the JWKS until verify_until.
    retired_at           timestamptz,
    verify_until         timestamptz
);

CREATE INDEX IF NOT EXISTS signing_keys_customer_idx ON auth.signing_keys (customer_id, activates_at DESC);
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_current_idx
    ON auth.signing_keys (customer_id) WHERE retired_at IS NULL;
CREATE INDEX IF NOT EXISTS signing_keys_master_key_idx ON auth.signing_keys (master_key_id);

-- Opaque app tokens: only their SHA-256 is stored.
CREATE TABLE IF NOT EXISTS auth.app_tokens (
    id           text        PRIMARY KEY,
    customer_id  uuid        NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    token_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    subject      text        NOT NULL,
    scopes       text[],
    name         text,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

CREATE INDEX IF NOT EXISTS app_tokens_customer_idx ON auth.app_tokens (customer_id);

-- Every revoked token id (a jti or an app token id). The record the Redis filter is built from.
CREATE TABLE IF NOT EXISTS auth.revocations (
    jti          text        PRIMARY KEY,
    customer_id  uuid        NOT NULL,
    kind         text        NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz NOT NULL DEFAULT now(),
    revoked_by   text        NOT NULL
);

CREATE INDEX IF NOT EXISTS revocations_revoked_at_idx ON auth.revocations (revoked_at);
CREATE INDEX IF NOT EXISTS revocations_expires_at_idx ON auth.revocations (expires_at);

-- Who did what, when. Never a raw token or key.
CREATE TABLE IF NOT EXISTS auth.audit_events (
    id           bigserial   PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    customer_id  uuid,
    actor        text        NOT NULL,
    action       text        NOT NULL,
    target       text,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX IF NOT EXISTS audit_events_customer_idx ON auth.audit_events (customer_id, occurred_at DESC);
