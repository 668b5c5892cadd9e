/**
 * Request and response schemas of the HTTP API (contract section 5).
 */
import { Type, type Static } from 'typebox';
import { MAX_SCOPE_LENGTH, MAX_SCOPES } from '../tokens/scopes.js';

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  instance: Type.Optional(Type.String()),
});

const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: MAX_SCOPE_LENGTH }), {
  maxItems: MAX_SCOPES,
});

export const MintBody = Type.Object(
  {
    kind: Type.Union([
      Type.Literal('bearer'),
      Type.Literal('agent'),
      Type.Literal('subagent'),
      Type.Literal('session'),
      Type.Literal('override'),
    ]),
    scopes: Type.Optional(Scopes),
    ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 366 * 86_400 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type MintBody = Static<typeof MintBody>;

export const MintResponse = Type.Object({
  token: Type.String(),
  kind: Type.String(),
  jti: Type.String(),
  expires_at: Type.String(),
  expires_in: Type.Integer(),
  scopes: Type.Array(Type.String()),
  token_type: Type.String(),
});

export const TokenBody = Type.Object(
  // No maxLength: the body limit (16 KB, 413) bounds the token, and the verifier refuses one over
  // AUTH_MAX_TOKEN_BYTES. ajv checks a maxLength by counting code points in a loop over the whole
  // string: ~3 us for a 700-character token, on every verify and revoke.
  { token: Type.String() },
  { additionalProperties: false },
);
export type TokenBody = Static<typeof TokenBody>;

/** RFC 8693 actor; nested `act` members are passed through as they are. */
const Actor = Type.Object({ sub: Type.String() }, { additionalProperties: true });

export const VerifyResponse = Type.Object({
  active: Type.Boolean(),
  kind: Type.Optional(Type.String()),
  cid: Type.Optional(Type.String()),
  customer_id: Type.Optional(Type.String()),
  sub: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String()),
  scopes: Type.Optional(Type.Array(Type.String())),
  scope: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  parent_jti: Type.Optional(Type.String()),
  chain: Type.Optional(Type.Array(Type.String())),
  act: Type.Optional(Actor),
  kid: Type.Optional(Type.String()),
  delegation_depth: Type.Optional(Type.Integer()),
});

export const RevokeResponse = Type.Object({
  revoked: Type.Boolean(),
  jti: Type.String(),
  kind: Type.String(),
});

export const CustomerParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export type CustomerParams = Static<typeof CustomerParams>;

export const AppTokenBody = Type.Union([
  Type.Null(),
  Type.Object(
    {
      scopes: Type.Optional(Scopes),
      subject: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
      // No control characters: Postgres refuses NUL in text, and names end up in logs and UIs.
      name: Type.Optional(
        Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
      ),
      ttl_seconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 10 * 366 * 86_400 })),
    },
    { additionalProperties: false },
  ),
]);
export type AppTokenBody = Static<typeof AppTokenBody>;

export const AppTokenResponse = Type.Object({
  token: Type.String(),
  id: Type.String(),
  customer_id: Type.String(),
  expires_at: Type.String(),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  subject: Type.String(),
  kid: Type.String(),
  signing_key_created: Type.Boolean(),
});

export const RotateResponse = Type.Object({ kid: Type.String(), activates_at: Type.String() });

export const Jwk = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  y: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
});

export const JwksResponse = Type.Object({ keys: Type.Array(Jwk) });

export const HealthResponse = Type.Object({
  status: Type.String(),
  postgres: Type.String(),
  redis: Type.String(),
});

export const AuditQuery = Type.Object(
  {
    // Query values arrive as text and the validator does not coerce types: a whole number
    // from 1 to 1000, spelled plainly.
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$' })),
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditResponse = Type.Object({
  events: Type.Array(
    Type.Object({
      id: Type.String(),
      occurred_at: Type.String(),
      actor: Type.String(),
      action: Type.String(),
      target: Type.Union([Type.String(), Type.Null()]),
      details: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});
