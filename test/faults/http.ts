/**
 * A tiny HTTP client for the suite: every call has a timeout, and network failures become a
 * pseudo-status (`ECONNREFUSED`, `ECONNRESET`, `timeout`, …) so they can be counted like statuses.
 */
export interface CallResult {
  /** HTTP status as a string, or the network failure. */
  status: string;
  ok: boolean;
  body: unknown;
  contentType: string;
  startedAt: number;
  endedAt: number;
}

export interface CallOptions {
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function networkStatus(error: unknown): string {
  const e = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  const code = e.cause?.code ?? e.code;
  if (typeof code === 'string') return code;
  return e.cause?.name ?? e.name ?? 'network-error';
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const startedAt = Date.now();
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  try {
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (contentType.includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return {
      status: String(res.status),
      ok: res.status < 400,
      body: parsed,
      contentType,
      startedAt,
      endedAt: Date.now(),
    };
  } catch (error) {
    return {
      status: networkStatus(error),
      ok: false,
      body: undefined,
      contentType: '',
      startedAt,
      endedAt: Date.now(),
    };
  }
}

export function isServerError(status: string): boolean {
  return /^5\d\d$/.test(status);
}
