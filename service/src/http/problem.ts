/**
 * The one place where outcomes become HTTP statuses, and every error becomes an RFC 9457
 * `application/problem+json` body with a stable `code`. 5xx bodies never carry internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, DependencyUnavailableError, ErrorCodes, type ErrorCode } from '../errors.js';
import { isConnectionError } from '../db/postgres.js';

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_scope: 400,
  missing_credential: 401,
  invalid_credential: 401,
  invalid_token: 401,
  token_expired: 401,
  token_revoked: 401,
  delegation_forbidden: 403,
  scope_escalation: 403,
  delegation_chain_too_deep: 403,
  revoke_forbidden: 403,
  customer_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  dependency_unavailable: 503,
  internal_error: 500,
};

const TITLES: Record<ErrorCode, string> = {
  invalid_request: 'Invalid request',
  invalid_scope: 'Invalid scope',
  missing_credential: 'Missing credential',
  invalid_credential: 'Invalid credential',
  invalid_token: 'Invalid token',
  token_expired: 'Token expired',
  token_revoked: 'Token revoked',
  delegation_forbidden: 'Delegation forbidden',
  scope_escalation: 'Scope escalation',
  delegation_chain_too_deep: 'Delegation chain too deep',
  revoke_forbidden: 'Revocation forbidden',
  customer_not_found: 'Customer not found',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  dependency_unavailable: 'Service unavailable',
  internal_error: 'Internal error',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

export function problemOf(code: ErrorCode, detail: string, instance?: string): Problem {
  return {
    type: `https://docs.quint.dev/auth/errors#${code}`,
    title: TITLES[code],
    status: STATUS[code],
    detail,
    code,
    ...(instance === undefined ? {} : { instance }),
  };
}

/** Sends a problem; credential failures also get a WWW-Authenticate challenge (RFC 6750). */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.status === 401) {
    const error = problem.code === ErrorCodes.missingCredential ? '' : ', error="invalid_token"';
    reply.header('www-authenticate', `Bearer realm="quint"${error}`);
  }
  if (problem.status === 503) reply.header('retry-after', '1');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** Translates anything thrown in a request into a problem. */
export function problemFromError(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof AuthError) return problemOf(error.code, error.message, request.id);
  const fe = error as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (fe.validation) {
    return problemOf(
      ErrorCodes.invalidRequest,
      `${fe.validationContext ?? 'request'}: ${fe.message ?? 'invalid'}`,
      request.id,
    );
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemOf(ErrorCodes.payloadTooLarge, 'request body is too large', request.id);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemOf(ErrorCodes.unsupportedMediaType, 'send application/json', request.id);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problemOf(ErrorCodes.invalidRequest, 'request body is empty', request.id);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problemOf(ErrorCodes.invalidRequest, 'request body is not valid JSON', request.id);
    default:
      break;
  }
  if (
    error instanceof SyntaxError ||
    (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500)
  ) {
    if (fe.statusCode === 413)
      return problemOf(ErrorCodes.payloadTooLarge, 'request is too large', request.id);
    if (fe.statusCode === 415)
      return problemOf(ErrorCodes.unsupportedMediaType, 'send application/json', request.id);
    return problemOf(ErrorCodes.invalidRequest, 'the request could not be read', request.id);
  }
  if (isUnstorableInput(error)) {
    // A safety net behind input validation: a string Postgres cannot store is the caller's fault.
    return problemOf(
      ErrorCodes.invalidRequest,
      'the request holds characters that cannot be stored (such as NUL)',
      request.id,
    );
  }
  if (
    error instanceof DependencyUnavailableError ||
    isConnectionError(error) ||
    isRedisUnavailable(error)
  ) {
    return problemOf(
      ErrorCodes.dependencyUnavailable,
      'a backing store is unavailable; retry shortly',
      request.id,
    );
  }
  return problemOf(
    ErrorCodes.internal,
    'something went wrong; the request id identifies it in our logs',
    request.id,
  );
}

/** Postgres' "character not in repertoire" (NUL in text, invalid UTF-8) and "untranslatable character". */
function isUnstorableInput(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|enableOfflineQueue/.test(
      error.message,
    )
  );
}
