/**
 * The reduced run of the fault suite, part of `npm test`: the same scenarios as `npm run faults`
 * with shorter outages, a lighter load and fewer abusive requests. It starts its own Postgres,
 * Redis and service (the shared test servers are not stopped by anyone). Each scenario's
 * promises are assertions here: nothing revoked reported active, no valid token refused, no
 * acknowledged revocation lost, no 5xx but clean 503s, every scenario check passed, nothing left
 * running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuite, type SuiteResult } from './suite.js';

let result: SuiteResult;
beforeAll(async () => {
  result = await runSuite({ profile: 'reduced', log: () => {} });
  process.stderr.write(`\nfault suite (reduced):\n${result.table}\n`);
}, 170_000);

afterAll(() => {
  // runSuite stops everything it started in its own finally block.
});

describe('fault suite, reduced run', () => {
  it('ran every scenario', () => {
    expect(result.rows.map((r) => r.name.split(' ')[0])).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
    ]);
  });

  it('never reported a revoked token active, nor refused a valid one, nor lost a revocation', () => {
    for (const row of result.rows) {
      expect({ scenario: row.name, revokedActive: row.revokedReportedActive }).toEqual({
        scenario: row.name,
        revokedActive: 0,
      });
      expect({ scenario: row.name, wronglyRefused: row.validWronglyRefused }).toEqual({
        scenario: row.name,
        wronglyRefused: 0,
      });
      expect({ scenario: row.name, lost: row.lostRevocations }).toEqual({
        scenario: row.name,
        lost: 0,
      });
    }
  });

  it('answered no 5xx other than 503 problem+json', () => {
    for (const row of result.rows) {
      expect({ scenario: row.name, bad: row.badServerErrors, samples: row.samples }).toMatchObject({
        scenario: row.name,
        bad: 0,
      });
    }
  });

  it('kept every scenario-specific promise', () => {
    const failed = result.rows.flatMap((r) =>
      r.checks.filter((c) => !c.ok).map((c) => `${r.name}: ${c.name} (${c.detail})`),
    );
    expect(failed).toEqual([]);
  });

  it('actually exercised the service: tokens minted and revoked, forged tokens sent', () => {
    const total = (f: (r: (typeof result.rows)[number]) => number) =>
      result.rows.reduce((n, r) => n + f(r), 0);
    expect(total((r) => r.minted)).toBeGreaterThan(200);
    expect(total((r) => r.revoked)).toBeGreaterThan(30);
    const abuse = result.rows.find((r) => r.name.startsWith('8'));
    expect(abuse?.requests ?? 0).toBeGreaterThan(1500);
  });

  it('left no process running', () => {
    expect(result.leftovers).toEqual([]);
  });
});
