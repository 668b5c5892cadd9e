/**
 * Conformance of the two primitives our secrets rest on, against Project Wycheproof's vectors:
 * every ECDSA P-256/SHA-256 case (raw r||s, the JWS ES256 encoding) through verifyEs256, and every
 * AES-256-GCM case with a 96-bit nonce and a 128-bit tag (how private keys are stored) through
 * open(). The vectors are not copied into this repository: they are read from
 * `../shared/vectors/wycheproof/` beside the checkout, and this file says so and skips when they
 * are not there.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DecryptionError, open } from '../../service/src/crypto/aead.js';
import { verifyEs256 } from '../../service/src/crypto/es256.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectorsDir = join(repoRoot, '..', 'shared', 'vectors', 'wycheproof');
const ecdsaFile = join(vectorsDir, 'ecdsa_secp256r1_sha256_p1363_test.json');
const gcmFile = join(vectorsDir, 'aes_gcm_test.json');

interface WycheproofCase {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
}
interface EcdsaCase extends WycheproofCase {
  msg: string;
  sig: string;
}
interface EcdsaGroup {
  /** SPKI DER in hex; every group has it (some lack the JWK form). */
  publicKeyDer: string;
  sha: string;
  tests: EcdsaCase[];
}
interface GcmCase extends WycheproofCase {
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
}
interface GcmGroup {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: GcmCase[];
}

function load<T>(file: string): { testGroups: T[] } | undefined {
  if (!existsSync(file)) {
    console.warn(
      `Wycheproof vectors not run: ${file} is not there (see test/conformance/README.md)`,
    );
    return undefined;
  }
  return JSON.parse(readFileSync(file, 'utf8')) as { testGroups: T[] };
}

const hex = (s: string) => Buffer.from(s, 'hex');
const label = (c: WycheproofCase) =>
  `tcId ${c.tcId} (${c.result}${c.comment ? `: ${c.comment}` : ''}; ${c.flags.join(', ')})`;

const ecdsa = load<EcdsaGroup>(ecdsaFile);
describe.skipIf(ecdsa === undefined)(
  'Wycheproof ecdsa_secp256r1_sha256_p1363 through verifyEs256',
  () => {
    const groups = ecdsa?.testGroups ?? [];

    it('covers the whole file, with invalid cases among them', () => {
      const cases = groups.flatMap((g) => g.tests);
      expect(groups.every((g) => g.sha === 'SHA-256')).toBe(true);
      expect(cases.length).toBeGreaterThan(200);
      expect(cases.filter((c) => c.result === 'invalid').length).toBeGreaterThan(50);
    });

    it('accepts every valid signature and refuses every invalid one', () => {
      const wrong: string[] = [];
      for (const group of groups) {
        const key = createPublicKey({ key: hex(group.publicKeyDer), format: 'der', type: 'spki' });
        for (const c of group.tests) {
          const accepted = verifyEs256(key, hex(c.msg), hex(c.sig));
          // "acceptable" cases may go either way by Wycheproof's own rules; the file has none today.
          if (c.result === 'valid' && !accepted) wrong.push(`refused ${label(c)}`);
          if (c.result === 'invalid' && accepted) wrong.push(`ACCEPTED ${label(c)}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  },
);

const gcm = load<GcmGroup>(gcmFile);
describe.skipIf(gcm === undefined)(
  'Wycheproof aes_gcm (256-bit key, 96-bit IV, 128-bit tag) through open()',
  () => {
    const groups = (gcm?.testGroups ?? []).filter(
      (g) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128,
    );

    it('has such groups', () => {
      expect(groups.flatMap((g) => g.tests).length).toBeGreaterThan(30);
    });

    it('opens every valid case to its plaintext and refuses every invalid one', () => {
      const wrong: string[] = [];
      for (const group of groups) {
        for (const c of group.tests) {
          const sealed = { nonce: hex(c.iv), ciphertext: hex(c.ct), tag: hex(c.tag) };
          let plaintext: Buffer | undefined;
          let error: unknown;
          try {
            plaintext = open(hex(c.key), sealed, hex(c.aad));
          } catch (e) {
            error = e;
          }
          if (c.result === 'valid') {
            if (plaintext === undefined) wrong.push(`refused ${label(c)}: ${String(error)}`);
            else if (!plaintext.equals(hex(c.msg))) wrong.push(`wrong plaintext for ${label(c)}`);
          } else if (c.result === 'invalid') {
            if (plaintext !== undefined) wrong.push(`ACCEPTED ${label(c)}`);
            else if (!(error instanceof DecryptionError))
              wrong.push(`refused ${label(c)} with ${String(error)}, not a DecryptionError`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });
  },
);
