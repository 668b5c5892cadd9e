/**
 * Malformed requests: generated combinations of methods, paths, headers, content types and
 * bodies sent with fetch, plus hand-written broken HTTP sent over raw sockets. None may produce a
 * 5xx, a hang or a dead worker. The generator is seeded so a failing run can be repeated.
 */
import { connect } from 'node:net';

/** A small, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface AbuseRequest {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface AbuseMaterial {
  appToken: string;
  bearer: string;
  adminToken: string;
  customerId: string;
}

const UUID0 = '00000000-0000-4000-8000-000000000000';

function paths(m: AbuseMaterial): string[] {
  return [
    '/v1/tokens',
    '/v1/tokens/verify',
    '/v1/tokens/revoke',
    `/v1/customers/${m.customerId}/app-tokens`,
    `/v1/customers/${UUID0}/app-tokens`,
    `/v1/customers/${m.customerId.toUpperCase()}/app-tokens`,
    "/v1/customers/1' OR '1'='1/app-tokens",
    '/v1/customers/%00/app-tokens',
    `/v1/customers/${'a'.repeat(300)}/app-tokens`,
    `/v1/customers/${m.customerId}/signing-keys/rotate`,
    '/health',
    '/.well-known/jwks.json',
    '/v1/tokens/verify?token=x&token=y',
    '//v1/tokens/verify',
    '/v1/tokens/../tokens/verify',
    '/v1/tokens/%2e%2e/verify',
    '/v1/tokens/verify%00',
    '/v1/tokens/verify/',
    '/V1/TOKENS/VERIFY',
    `/v1/${'x'.repeat(8000)}`,
    '/v1/tokens/verify#frag',
    '/v1/t%C3%B6kens',
    '/v1/tokens/%ZZ',
    '/%',
    '/',
    '/admin',
  ];
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/problem+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
  'application/json, text/plain',
  ';;;',
];

function bodies(m: AbuseMaterial): (string | Buffer)[] {
  return [
    '',
    '{',
    '}',
    'null',
    'true',
    '[]',
    '"token"',
    '123',
    '1e999',
    '{"token":null}',
    '{"token":123}',
    '{"token":[]}',
    '{"token":{}}',
    '{"token":true}',
    '{"token":""}',
    `{"token":${JSON.stringify(m.bearer)},"extra":1}`,
    `{"token":${JSON.stringify(m.bearer)},"token":"x"}`,
    '{"__proto__":{"token":"x"}}',
    '{"constructor":{"prototype":{"token":"x"}}}',
    `{"token":"${'x'.repeat(20_000)}"}`,
    `{"token":"${'x'.repeat(15_000)}"}`,
    `{"token":"${'a.'.repeat(3000)}"}`,
    '['.repeat(5000) + ']'.repeat(5000),
    '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
    Buffer.from([
      0x7b, 0x22, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d,
    ]),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"token":"x"}')]),
    Buffer.from('{"token":"x"}', 'utf16le'),
    '{"token":"\\ud800"}',
    '{"token":"\\u0000"}',
    '{"kind":"bearer"}',
    '{"kind":"app"}',
    '{"kind":"admin","scopes":["*"]}',
    '{"kind":"bearer","scopes":"admin"}',
    '{"kind":"bearer","scopes":[1,2]}',
    `{"kind":"bearer","scopes":[${Array.from({ length: 1000 }, (_, i) => `"s${i}"`).join(',')}]}`,
    '{"kind":"bearer","scopes":[""]}',
    '{"kind":"bearer","scopes":["a b"]}',
    '{"kind":"bearer","ttl_seconds":-1}',
    '{"kind":"bearer","ttl_seconds":1e308}',
    '{"kind":"bearer","ttl_seconds":"10"}',
    '{"kind":"bearer","ttl_seconds":0.5}',
    '{"kind":"agent","subject":"a\\nb"}',
    `{"kind":"agent","subject":"${'s'.repeat(10_000)}"}`,
    '{"kind":"bearer","kind":"override"}',
    '{"scopes":["a"],"subject":"x"}',
    '{"name":"x","ttl_seconds":-5}',
    '{"scopes":null}',
    'kind=bearer',
    '--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nx\r\n--x--',
  ];
}

function authHeaders(m: AbuseMaterial): (string | undefined)[] {
  return [
    undefined,
    'Bearer',
    'Bearer ',
    `Basic ${Buffer.from('a:b').toString('base64')}`,
    `Bearer ${m.appToken}`,
    `bearer  ${m.bearer}`,
    `Bearer ${m.bearer} extra`,
    `Bearer ${m.bearer}x`,
    `Bearer ${m.adminToken}`,
    `Bearer ${m.adminToken}x`,
    `Bearer ${'x'.repeat(9000)}`,
    `Token ${m.appToken}`,
    `Bearer ${m.appToken},Bearer ${m.bearer}`,
    'Bearer null',
    'Bearer undefined',
    'Bearer ../../',
  ];
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** `count` generated malformed (or merely odd) requests. */
export function malformedRequests(m: AbuseMaterial, count: number, seed: number): AbuseRequest[] {
  const rand = prng(seed);
  const ps = paths(m);
  const bs = bodies(m);
  const auths = authHeaders(m);
  const out: AbuseRequest[] = [];
  for (let i = 0; i < count; i++) {
    const method = rand() < 0.7 ? 'POST' : pick(rand, METHODS);
    const path = pick(rand, ps);
    const headers: Record<string, string> = {};
    const ct = pick(rand, CONTENT_TYPES);
    if (ct) headers['content-type'] = ct;
    const auth = pick(rand, auths);
    if (auth) headers.authorization = auth;
    if (rand() < 0.1)
      headers['x-request-id'] = pick(rand, ['../../x', 'a'.repeat(100), '\u00e9', 'ok-1']);
    if (rand() < 0.05) headers['content-encoding'] = pick(rand, ['gzip', 'br', 'identity', 'x']);
    if (rand() < 0.05)
      headers['x-forwarded-for'] = pick(rand, ['1.2.3.4', 'garbage', '::1, 10.0.0.1']);
    if (rand() < 0.05) headers.accept = pick(rand, ['text/html', '*/*;q=x', '']);
    const body = method === 'GET' || method === 'HEAD' ? undefined : pick(rand, bs);
    out.push({
      name: `${method} ${path.slice(0, 60)} ct=${ct || '-'} auth=${auth ? auth.slice(0, 12) : '-'} body=${body === undefined ? '-' : body.slice(0, 24).toString()}`,
      method,
      path,
      headers,
      ...(body === undefined ? {} : { body }),
    });
  }
  return out;
}

/** Broken HTTP that fetch would refuse to send, written to a socket as it is. */
export function rawRequests(port: number): { name: string; bytes: Buffer }[] {
  const host = `Host: 127.0.0.1:${port}\r\n`;
  const json = '{"token":"x"}';
  const r = (name: string, text: string | Buffer) => ({
    name,
    bytes: typeof text === 'string' ? Buffer.from(text, 'latin1') : text,
  });
  return [
    r('garbage request line', 'HELLO\r\n\r\n'),
    r('unknown method', `FOO /v1/tokens/verify HTTP/1.1\r\n${host}\r\n`),
    r('TRACE', `TRACE /v1/tokens/verify HTTP/1.1\r\n${host}\r\n`),
    r('CONNECT', `CONNECT 127.0.0.1:1 HTTP/1.1\r\n${host}\r\n`),
    r('HTTP/0.9', 'GET /health\r\n\r\n'),
    r('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    r(
      'HTTP/1.0 without Host',
      `POST /v1/tokens/verify HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
    ),
    r('HTTP/9.9', `GET /health HTTP/9.9\r\n${host}\r\n`),
    r('header without colon', `GET /health HTTP/1.1\r\n${host}Broken header\r\n\r\n`),
    r('NUL in a header', `GET /health HTTP/1.1\r\n${host}X-A: a\u0000b\r\n\r\n`),
    r('LF-only line ends', `GET /health HTTP/1.1\n${host.replace('\r\n', '\n')}\n`),
    r('obs-fold header', `GET /health HTTP/1.1\r\n${host}X-A: a\r\n b\r\n\r\n`),
    r(
      'two different Content-Lengths',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 13\r\nContent-Length: 3\r\n\r\n${json}`,
    ),
    r(
      'Content-Length and chunked',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n${json}\r\n0\r\n\r\n`,
    ),
    r(
      'negative Content-Length',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n${json}`,
    ),
    r(
      'huge Content-Length',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n${json}`,
    ),
    r(
      'Content-Length over the body limit',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n${json}`,
    ),
    r(
      'bad chunk size',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${json}\r\n0\r\n\r\n`,
    ),
    r(
      'chunked body of 20 KB',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4e20\r\n${'x'.repeat(20000)}\r\n0\r\n\r\n`,
    ),
    r(
      'chunked with a bad extension',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nd;\u0001\r\n${json}\r\n0\r\n\r\n`,
    ),
    r(
      'Transfer-Encoding gzip, chunked',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\nd\r\n${json}\r\n0\r\n\r\n`,
    ),
    r('32 KB of headers', `GET /health HTTP/1.1\r\n${host}X-Big: ${'x'.repeat(32_000)}\r\n\r\n`),
    r(
      '2000 headers',
      `GET /health HTTP/1.1\r\n${host}${Array.from({ length: 2000 }, (_, i) => `X-${i}: ${i}\r\n`).join('')}\r\n`,
    ),
    r('absolute-form URL', `GET http://evil.example/health HTTP/1.1\r\n${host}\r\n`),
    r('space in the URL', `GET /v1/tokens verify HTTP/1.1\r\n${host}\r\n`),
    r(
      'UTF-8 in the URL',
      Buffer.concat([
        Buffer.from('GET /v1/t'),
        Buffer.from('ö', 'utf8'),
        Buffer.from(` HTTP/1.1\r\n${host}\r\n`),
      ]),
    ),
    r(
      'Expect: 100-continue, then the body',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
    ),
    r(
      'Expect: something else',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nExpect: 200-ok\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
    ),
    r(
      'pipelined requests',
      `GET /health HTTP/1.1\r\n${host}\r\nPOST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}GET /nope HTTP/1.1\r\n${host}\r\n`,
    ),
    r(
      'smuggling attempt',
      `POST /v1/tokens/verify HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${host}\r\n`,
    ),
    r('binary garbage', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 73 + 11) % 256))),
  ];
}

/**
 * Writes `bytes` to a fresh connection and collects the statuses of every response until the
 * server closes or `timeoutMs` passes. `closed` means the server closed without answering.
 */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 3000): Promise<string[]> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    let done = false;
    const finish = (extra?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const statuses = [...data.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((x) => x[1] as string);
      if (extra) statuses.push(extra);
      resolve(statuses.length > 0 ? statuses : ['closed']);
    };
    const timer = setTimeout(() => finish(data ? undefined : 'no-answer'), timeoutMs);
    socket.on('connect', () => {
      socket.write(bytes);
    });
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
    });
    socket.on('error', () => finish());
    socket.on('close', () => finish());
  });
}
