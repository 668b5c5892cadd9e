/**
 * Every failure a caller can cause is an {@link AuthError} with a stable `code`. The HTTP layer
 * maps codes to statuses in one place (`http/problem.ts`); nothing else decides a status.
 */
export const ErrorCodes = {
  invalidRequest: 'invalid_request',
  invalidScope: 'invalid_scope',
  missingCredential: 'missing_credential',
  invalidCredential: 'invalid_credential',
  invalidToken: 'invalid_token',
  tokenExpired: 'token_expired',
  tokenRevoked: 'token_revoked',
  delegationForbidden: 'delegation_forbidden',
  scopeEscalation: 'scope_escalation',
  chainTooDeep: 'delegation_chain_too_deep',
  revokeForbidden: 'revoke_forbidden',
  customerNotFound: 'customer_not_found',
  notFound: 'not_found',
  rateLimited: 'rate_limited',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  methodNotAllowed: 'method_not_allowed',
  dependencyUnavailable: 'dependency_unavailable',
  internal: 'internal_error',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An expected failure with a stable code; `detail` is safe to show to the caller. */
export class AuthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'AuthError';
    this.code = code;
  }
}

/** Postgres or Redis (whichever was needed) could not answer; callers get 503, never a guess. */
export class DependencyUnavailableError extends AuthError {
  readonly dependency: 'postgres' | 'redis';
  constructor(dependency: 'postgres' | 'redis', detail: string, options?: { cause?: unknown }) {
    super(ErrorCodes.dependencyUnavailable, detail, options);
    this.name = 'DependencyUnavailableError';
    this.dependency = dependency;
  }
}
