/**
 * The readers of the independent tools' outputs (bench/independent.ts): real outputs of ab 2.3
 * and OpenSSL 3.0 on this machine, and text they must refuse.
 */
import { describe, expect, it } from 'vitest';
import { parseAb, parseOpensslSpeed } from '../../bench/lib/independent.js';

/** `ab -k -c 8 -t 1 -n 1000000 -p body.json -T application/json` against a server without keep-alive. */
const AB_OK = `Server Software:        
Server Hostname:        127.0.0.1
Server Port:            39111

Document Path:          /verify
Document Length:        15 bytes

Concurrency Level:      8
Time taken for tests:   1.000 seconds
Complete requests:      7006
Failed requests:        0
Keep-Alive requests:    0
Total transferred:      854732 bytes
Total body sent:        1262520
HTML transferred:       105090 bytes
Requests per second:    7005.81 [#/sec] (mean)
Time per request:       1.142 [ms] (mean)
Time per request:       0.143 [ms] (mean, across all concurrent requests)
Transfer rate:          834.68 [Kbytes/sec] received
                        1232.90 kb/s sent
                        2067.57 kb/s total
`;

/** `ab -q -k -c 4 -n 300 …` against a server answering every third request 503. */
const AB_NON_2XX = `Server Software:        
Server Hostname:        127.0.0.1
Server Port:            39112

Document Path:          /verify
Document Length:        15 bytes

Concurrency Level:      4
Time taken for tests:   0.120 seconds
Complete requests:      300
Failed requests:        100
   (Connect: 0, Receive: 0, Length: 100, Exceptions: 0)
Non-2xx responses:      100
Keep-Alive requests:    0
Total transferred:      39000 bytes
Total body sent:        54000
HTML transferred:       5200 bytes
Requests per second:    2492.48 [#/sec] (mean)
Time per request:       1.605 [ms] (mean)
Time per request:       0.401 [ms] (mean, across all concurrent requests)
Transfer rate:          316.43 [Kbytes/sec] received
                        438.13 kb/s sent
                        754.56 kb/s total
`;

const OPENSSL = `version: 3.0.19
built on: Mon Jan 26 2026 UTC
options: bn(64,64)
CPUINFO: OPENSSL_ia32cap=0xfffa3203078bffff:0x405fc6f1bf07ab
                              sign    verify    sign/s verify/s
 256 bits ecdsa (nistp256)   0.0000s   0.0001s  50045.9  16447.0
`;

describe('parseAb', () => {
  it('reads the rate, the counts and the kept-alive requests', () => {
    expect(parseAb(AB_OK)).toEqual({
      complete: 7006,
      failed: 0,
      non2xx: 0,
      keepAlive: 0,
      seconds: 1,
      rps: 7005.81,
    });
  });

  it('reads failed and non-2xx answers', () => {
    expect(parseAb(AB_NON_2XX)).toMatchObject({ complete: 300, failed: 100, non2xx: 100 });
  });

  it('refuses output without a report (a run that did not finish)', () => {
    expect(() => parseAb('apr_socket_recv: Connection reset by peer (104)\n')).toThrow(
      /no "Complete requests" line/,
    );
    expect(() => parseAb(AB_OK.replace(/^Requests per second.*$/m, ''))).toThrow(
      /no "Requests per second" line/,
    );
  });
});

describe('parseOpensslSpeed', () => {
  it('reads signatures and verifications per second', () => {
    expect(parseOpensslSpeed(OPENSSL)).toEqual({ signPerSecond: 50045.9, verifyPerSecond: 16447 });
  });

  it('refuses output without the P-256 row', () => {
    expect(() => parseOpensslSpeed(OPENSSL.replace('nistp256', 'nistp384'))).toThrow(/nistp256/);
    expect(() => parseOpensslSpeed('')).toThrow(/nistp256/);
  });
});
