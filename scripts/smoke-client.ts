/**
 * The few calls of the auth service's HTTP API (contract section 5) that the smoke test makes,
 * with a time limit on each. Answers come back as data, whatever their status; only a request
 * that gets no answer at all (refused, reset, timed out) throws, as a `SmokeHttpError`.
 */

/** An answer from the service: status, the parsed JSON body (or undefined) and the raw text. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
  readonly ms: number;
}

/** No answer: the request could not be sent or timed out. `code` says which. */
export class SmokeHttpError extends Error {
  readonly code: 'timeout' | 'unreachable';
  constructor(code: 'timeout' | 'unreachable', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmokeHttpError';
    this.code = code;
  }
}

export interface AuthClientOptions {
  /** Base URL of the auth service, e.g. `http://auth:8001`. */
  readonly baseUrl: string;
  /** Time limit of each request, in milliseconds. */
  readonly timeoutMs: number;
}

/** Calls the auth service. One instance per run; it keeps no state between calls. */
export class AuthClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: AuthClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
  }

  /** `GET /health`. */
  health(): Promise<HttpAnswer> {
    return this.#request('GET', '/health');
  }

  /** `POST /v1/customers/{id}/app-tokens` with the admin token. */
  createAppToken(adminToken: string, customerId: string): Promise<HttpAnswer> {
    return this.#request(
      'POST',
      `/v1/customers/${encodeURIComponent(customerId)}/app-tokens`,
      {},
      adminToken,
    );
  }

  /** `POST /v1/tokens`: mints a child of `parentToken`. */
  mint(parentToken: string, body: { kind: string; ttl_seconds?: number }): Promise<HttpAnswer> {
    return this.#request('POST', '/v1/tokens', body, parentToken);
  }

  /** `POST /v1/tokens/verify`. */
  verify(token: string): Promise<HttpAnswer> {
    return this.#request('POST', '/v1/tokens/verify', { token });
  }

  /** `POST /v1/tokens/revoke`, authorised by `bearer` (the token itself, an ancestor or an app token). */
  revoke(bearer: string, token: string): Promise<HttpAnswer> {
    return this.#request('POST', '/v1/tokens/revoke', { token }, bearer);
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    bearer?: string,
  ): Promise<HttpAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
    const url = `${this.baseUrl}${path}`;
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new SmokeHttpError(
          'timeout',
          `${method} ${url} got no answer within ${this.#timeoutMs} ms`,
          {
            cause: error,
          },
        );
      }
      const cause =
        error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new SmokeHttpError('unreachable', `${method} ${url} failed${cause}`, { cause: error });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new SmokeHttpError(
        'timeout',
        `${method} ${url}: the answer's body did not arrive within ${this.#timeoutMs} ms`,
        {
          cause: error,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return {
      status: response.status,
      body: parsed,
      text,
      ms: Math.round(performance.now() - started),
    };
  }
}

/** Reads a string field of a JSON object, or undefined. */
export function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a boolean field of a JSON object, or undefined. */
export function flag(body: unknown, name: string): boolean | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'boolean' ? value : undefined;
}

/** A short description of an unexpected answer: its status and its problem `code`/`detail` or text. */
export function describeAnswer(answer: HttpAnswer): string {
  const code = field(answer.body, 'code');
  const detail = field(answer.body, 'detail') ?? field(answer.body, 'title');
  const said = [code, detail].filter((s) => s !== undefined).join(': ');
  const text = said !== '' ? said : answer.text.slice(0, 200).replace(/\s+/g, ' ').trim();
  return `HTTP ${answer.status}${text !== '' ? ` (${text})` : ''}`;
}
