/**
 * The Fastify application: security headers, problem+json errors, then the routes. Takes a built
 * {@link AuthCore}; opening and closing connections is the caller's business (see server.ts).
 */
import { randomFillSync } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuthCore } from '../auth-core.js';
import { ErrorCodes } from '../errors.js';
import { createAuthenticator } from './authenticate.js';
import { RequestDeadlines } from './deadlines.js';
import { IdleConnections } from './idle-connections.js';
import { problemFromError, problemOf, sendProblem } from './problem.js';
import { RateLimiter } from './rate-limiter.js';
import { lazyChildLoggerFactory, writesAt, type AccessLine } from './request-logging.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { jwksRoutes } from './routes/jwks.js';
import { tokenRoutes } from './routes/tokens.js';

export const BODY_LIMIT_BYTES = 16 * 1024;
export const HEADER_LIMIT_BYTES = 16 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Path segments this long or longer are not ours (our routes carry only ids). */
const LONGEST_SEGMENT = 64;
/** A path segment that could be a credential a client sent in the URL by mistake. */
const CREDENTIAL_LIKE_SEGMENT = new RegExp(
  `[^/]*(?:quint_app_|eyJ)[^/]*|[^/]{${LONGEST_SEGMENT + 1},}`,
  'g',
);

/**
 * The path as the access log shows it: no query string, and no segment that could be a token
 * (our routes only ever carry ids in the path; anything longer is not ours to keep).
 *
 * A path too short to hold a segment that long, and without the start of either kind of token,
 * is returned as it is: most requests (`/v1/tokens/verify`) are spared the scan, which was the
 * largest single part of the access line's cost (bench/README.md).
 */
export function loggedPath(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.length <= LONGEST_SEGMENT && !path.includes('eyJ') && !path.includes('quint_app_')) {
    return path;
  }
  return path.replace(CREDENTIAL_LIKE_SEGMENT, '[redacted]');
}

/** Headers on every response (HSTS as well in production; cache-control unless a route sets its own). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
});

/** Paths whose values must never reach a log line. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.password',
  '*.privateKey',
  '*.masterKey',
  '*.adminToken',
  'body',
];

/** Where access lines go (a JsonLineLog in the workers). */
export interface AccessLog {
  access(line: AccessLine): void;
}

/** What is done for every request as it starts and once its answer is out. */
interface Lifecycle {
  /** A request has arrived (before its hooks, body parsing and handler). */
  started(request: FastifyRequest, reply: FastifyReply): void;
  /** Its answer has been written out (or has failed). */
  completed(reply: FastifyReply): void;
}

/**
 * Fastify calls its log controller as every request starts (`incomingRequest`, once the request
 * and reply exist, routed or not) and as it completes (`requestCompleted`). This one does the
 * service's own per-request work there, where an `onRequest` hook would cost a hook run on every
 * request (bench/README.md), and writes the access line.
 *
 * The access log: one line per request, when it completes (request id, method, path, status,
 * time). Fastify's default is two lines per request, "incoming request" with the whole URL and
 * "request completed", which cost a busy worker about a quarter of its time (bench/README.md).
 * Fastify's other lines (stream and serializer errors) are kept.
 *
 * With an `accessLog` of its own the line skips the request's child logger and its redaction
 * (the line holds only the fields below, and the path is cleaned by `loggedPath`): redacting
 * every access line was most of its cost. Errors still go through the request's logger.
 */
class RequestLifecycleController extends LogController {
  readonly #accessLog: AccessLog | undefined;
  readonly #lifecycle: Lifecycle;

  constructor(accessLog: AccessLog | undefined, lifecycle: Lifecycle) {
    super();
    this.#accessLog = accessLog;
    this.#lifecycle = lifecycle;
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    this.#lifecycle.started(request, reply);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    this.#lifecycle.completed(reply);
    const method = request.method;
    const path = loggedPath(request.url);
    const status = reply.statusCode;
    const ms = Math.round(reply.elapsedTime * 100) / 100;
    if (error) {
      request.log.error(
        { method, path, status, ms, err: { type: error.name, message: error.message } },
        'request errored',
      );
    } else if (this.#accessLog) {
      // The request's logger still decides whether the line is wanted (routes set their own level).
      if (writesAt(request.log.level, 'info')) {
        this.#accessLog.access({ reqId: request.id, method, path, status, ms });
      }
    } else {
      request.log.info({ method, path, status, ms }, 'request');
    }
  }
}

/** `send` of a reply already answered at its deadline: takes nothing more. */
function answeredAlready(this: FastifyReply): FastifyReply {
  return this;
}

/** Generated request ids: bytes each, and how many one fill of the pool serves. */
const ID_BYTES = 16;
const IDS_PER_FILL = 256;

/**
 * Request ids for requests that bring no usable `x-request-id`: 128 random bits in hex, as
 * unlikely to repeat across workers, replicas and restarts as a UUID. Random rather than a
 * counter, so that an id tells a client nothing about how many requests its worker has served.
 * They are cut from a pool of random bytes refilled every {@link IDS_PER_FILL} ids, so an id
 * costs a slice of a buffer rather than a call into the CSPRNG.
 */
function requestIds(): () => string {
  const pool = Buffer.alloc(ID_BYTES * IDS_PER_FILL);
  let at = pool.length;
  return () => {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    at += ID_BYTES;
    return pool.toString('hex', at - ID_BYTES, at);
  };
}

/**
 * A request still unanswered after AUTH_REQUEST_DEADLINE_MS (default below) is answered 503.
 * Postgres or Redis that stop answering (frozen, partitioned) rather than refusing would otherwise
 * hold callers for as long as the outage lasts: postgres.js has no client-side query timeout, and
 * statement_timeout is enforced by the server that is not answering.
 */
export { DEFAULT_REQUEST_DEADLINE_MS as REQUEST_DEADLINE_MS } from '../config.js';

export interface BuildAppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Where access lines go instead of the request's logger (see {@link RequestLifecycleController}). */
  accessLog?: AccessLog;
  /** Key prefix for rate-limit counters in Redis. */
  rateLimitPrefix?: string;
  /** See {@link REQUEST_DEADLINE_MS}. */
  requestDeadlineMs?: number;
  /** See IdleConnections; AUTH_IDLE_TIMEOUT_MS (config `idleTimeoutMs`) by default. */
  idleTimeoutMs?: number;
}

export async function buildApp(
  core: AuthCore,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const deadlineMs = options.requestDeadlineMs ?? core.config.requestDeadlineMs;
  const deadlines = new RequestDeadlines(deadlineMs, (reply) => {
    reply.request.log.error({ deadlineMs }, 'request deadline exceeded; answering 503');
    // A request whose body has not all arrived (the client stopped halfway) ends its connection
    // with the answer: Node would otherwise wait on it for the rest of the body, then keep it
    // for the next request, out of the idle sweep's reach until the keep-alive timeout.
    if (!reply.request.raw.complete) reply.header('connection', 'close');
    sendProblem(
      reply,
      problemOf(
        ErrorCodes.dependencyUnavailable,
        'a backing store did not answer in time; retry shortly',
        reply.request.id,
      ),
    );
    // The request's handling may still go on: a handler finishing once its store answers, or the
    // body's reader failing when a connection closed above ends. Whatever it sends is dropped;
    // Fastify would try to send it and log FST_ERR_REP_ALREADY_SENT with a stack trace, once
    // per late request (hundreds under a flood).
    Object.defineProperty(reply, 'send', { value: answeredAlready });
  });
  const securityHeaders = {
    ...SECURITY_HEADERS,
    ...(core.config.env === 'production'
      ? { 'strict-transport-security': 'max-age=63072000; includeSubDomains' }
      : {}),
    'cache-control': 'no-store',
  };
  const nextRequestId = requestIds();
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new RequestLifecycleController(options.accessLog, {
      started(request, reply) {
        deadlines.admit(reply);
        // Errors and 404s keep them; routes may replace cache-control (JWKS is public for a
        // minute).
        reply.headers(securityHeaders);
        reply.header('x-request-id', request.id);
      },
      completed: (reply) => deadlines.answered(reply),
    }),
    // Each request's logger becomes a pino child only if a line is written through it.
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: 200 },
    trustProxy: core.config.trustProxy,
    http: { maxHeaderSize: HEADER_LIMIT_BYTES },
    // The idle timeout is IdleConnections' sweep, not a timer per socket (see there).
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    requestTimeout: 30_000,
    // A request routed after close() began (pipelined, or on a connection busy at SIGTERM) is
    // served: the worker works until its close completes, and Fastify marks the response
    // `Connection: close`. Fastify's own 503 for it is plain JSON, not our problem+json.
    return503OnClosing: false,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId();
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: Fastify would otherwise hand a text/plain body to the routes as a string.
  app.removeContentTypeParser('text/plain');

  // When close begins, the answers still to come say `Connection: close` and end their
  // connection: a client that keeps its connections open (a keep-alive pool, such as the API's)
  // would otherwise hold the worker to the end of its grace period. Requests routed after this
  // are marked by Fastify itself.
  app.addHook('preClose', (done) => {
    for (const reply of deadlines.unanswered()) reply.header('connection', 'close');
    done();
  });
  const idle = new IdleConnections(app.server, options.idleTimeoutMs ?? core.config.idleTimeoutMs);
  app.addHook('onClose', (_app, done) => {
    idle.close();
    deadlines.close();
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = problemFromError(error, request);
    if (problem.status >= 500) {
      request.log.error(
        {
          err: {
            type: (error as Error)?.name,
            message: (error as Error)?.message,
            code: (error as { code?: unknown })?.code,
          },
        },
        'request failed',
      );
    } else {
      request.log.info({ code: problem.code }, problem.detail);
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problemOf(
        ErrorCodes.notFound,
        `no route for ${request.method} ${request.url.split('?')[0]}`,
        request.id,
      ),
    ),
  );

  const limiter = new RateLimiter(core.redis, options.rateLimitPrefix);
  const auth = createAuthenticator(core, limiter);
  await app.register(healthRoutes, { core });
  await app.register(jwksRoutes, { core });
  await app.register(tokenRoutes, { core, auth, limiter });
  if (core.config.adminToken !== undefined) {
    await app.register(adminRoutes, { core, auth, adminToken: core.config.adminToken });
  }
  return app;
}
