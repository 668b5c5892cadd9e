/**
 * Customers' ES256 signing keys in Postgres. The private half is stored only as AES-256-GCM
 * ciphertext under the master key; decrypted keys live in this process's memory only.
 *
 * Rotation inserts the new key, which the JWKS publishes at once, and lets it sign from
 * `activates_at` (AUTH_KEY_ACTIVATION_DELAY_SECONDS later). The old key keeps verifying until
 * the last token it could have signed has expired.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Sql, TransactionSql } from 'postgres';
import { recordAudit } from '../audit/audit-log.js';
import {
  exportPrivateKey,
  generateEs256KeyPair,
  importPrivateKey,
  importPublicJwk,
  publicJwk,
  type PublicJwk,
} from '../crypto/es256.js';
import type { MasterKeyring } from '../crypto/master-keys.js';
import { AuthError, ErrorCodes } from '../errors.js';
import { LruCache } from '../lru.js';
import type { PublicKeyRecord } from '../tokens/verifier.js';

export interface SigningKey {
  kid: string;
  customerId: string;
  privateKey: KeyObject;
}

export interface SigningKeyStoreOptions {
  /** Seconds between publishing a rotated key and signing with it. */
  activationDelaySeconds: number;
  /** The longest lifetime of any signed token, so a retired key verifies that long. */
  maxSignedTokenTtlSeconds: number;
  clockSkewSeconds: number;
  /** How long a worker keeps using the signing key it looked up (seconds). */
  signingKeyCacheSeconds?: number;
}

interface KeyRow {
  kid: string;
  customer_id: string;
  public_jwk: PublicJwk;
  private_key_nonce: Buffer;
  private_key_ct: Buffer;
  private_key_tag: Buffer;
  master_key_id: string;
}

type Tx = Sql | TransactionSql;

function newKid(): string {
  return `k_${randomBytes(12).toString('base64url')}`;
}

/** A customer does not exist. */
export class CustomerNotFoundError extends AuthError {
  constructor(customerId: string) {
    super(ErrorCodes.customerNotFound, `customer ${customerId} does not exist`);
  }
}

export class SigningKeyStore {
  readonly #sql: Sql;
  readonly #keyring: MasterKeyring;
  readonly #opts: SigningKeyStoreOptions;
  readonly #signing = new Map<string, { key: SigningKey; until: number }>();
  readonly #public = new LruCache<string, PublicKeyRecord>(100_000);
  readonly #unknown = new LruCache<string, number>(10_000);

  constructor(sql: Sql, keyring: MasterKeyring, options: SigningKeyStoreOptions) {
    this.#sql = sql;
    this.#keyring = keyring;
    this.#opts = options;
  }

  /**
   * Creates a customer's first signing key unless it has one; call inside a transaction. Locks the
   * customer's row so that concurrent callers create one key, not two.
   */
  async ensureForCustomer(
    tx: TransactionSql,
    customerId: string,
    actor: string,
  ): Promise<{ kid: string; created: boolean }> {
    const [customer]: [{ id: string }?] =
      await tx`SELECT id FROM public.customers WHERE id = ${customerId} FOR UPDATE`;
    if (!customer) throw new CustomerNotFoundError(customerId);
    const [existing]: [{ kid: string }?] = await tx`
      SELECT kid FROM auth.signing_keys WHERE customer_id = ${customerId} AND retired_at IS NULL`;
    if (existing) return { kid: existing.kid, created: false };
    const kid = await this.#insert(tx, customerId, 0);
    await recordAudit(tx, { customerId, actor, action: 'signing_key.create', target: kid });
    return { kid, created: true };
  }

  /** Rotates a customer's signing key; returns the new kid. */
  async rotate(customerId: string, actor: string): Promise<{ kid: string; activatesAt: Date }> {
    const result = await this.#sql.begin(async (tx) => {
      const [customer]: [{ id: string }?] =
        await tx`SELECT id FROM public.customers WHERE id = ${customerId} FOR UPDATE`;
      if (!customer) throw new CustomerNotFoundError(customerId);
      const delay = this.#opts.activationDelaySeconds;
      const verifyFor = this.#opts.maxSignedTokenTtlSeconds + this.#opts.clockSkewSeconds + delay;
      const retired = await tx`
        UPDATE auth.signing_keys
        SET retired_at = now() + make_interval(secs => ${delay}),
            verify_until = now() + make_interval(secs => ${verifyFor})
        WHERE customer_id = ${customerId} AND retired_at IS NULL
        RETURNING kid`;
      const kid = await this.#insert(tx, customerId, retired.length > 0 ? delay : 0);
      const [row] = await tx<
        { activates_at: Date }[]
      >`SELECT activates_at FROM auth.signing_keys WHERE kid = ${kid}`;
      await recordAudit(tx, {
        customerId,
        actor,
        action: retired.length > 0 ? 'signing_key.rotate' : 'signing_key.create',
        target: kid,
        details: { retired: retired.map((r) => r.kid as string) },
      });
      return { kid, activatesAt: (row as { activates_at: Date }).activates_at };
    });
    this.#signing.delete(customerId);
    return result;
  }

  async #insert(tx: Tx, customerId: string, activationDelaySeconds: number): Promise<string> {
    const kid = newKid();
    const { privateKey, publicKey } = generateEs256KeyPair();
    const sealed = this.#keyring.encrypt(exportPrivateKey(privateKey), { customerId, kid });
    await tx`
      INSERT INTO auth.signing_keys
        (kid, customer_id, public_jwk, private_key_nonce, private_key_ct, private_key_tag, master_key_id, activates_at)
      VALUES (${kid}, ${customerId}, ${tx.json(publicJwk(publicKey, kid) as never)}, ${sealed.nonce},
              ${sealed.ciphertext}, ${sealed.tag}, ${sealed.masterKeyId},
              now() + make_interval(secs => ${activationDelaySeconds}))`;
    return kid;
  }

  #decrypt(row: KeyRow): KeyObject {
    const der = this.#keyring.decrypt(
      {
        nonce: row.private_key_nonce,
        ciphertext: row.private_key_ct,
        tag: row.private_key_tag,
        masterKeyId: row.master_key_id,
      },
      { customerId: row.customer_id, kid: row.kid },
    );
    return importPrivateKey(der);
  }

  /** The key a customer signs with now. */
  async signingKey(customerId: string): Promise<SigningKey> {
    const now = Date.now();
    const cached = this.#signing.get(customerId);
    if (cached && cached.until > now) return cached.key;
    const [row]: [KeyRow?] = await this.#sql`
      SELECT kid, customer_id, public_jwk, private_key_nonce, private_key_ct, private_key_tag, master_key_id
      FROM auth.signing_keys
      WHERE customer_id = ${customerId} AND activates_at <= now()
      ORDER BY activates_at DESC
      LIMIT 1`;
    if (!row)
      throw new AuthError(
        ErrorCodes.invalidCredential,
        `customer ${customerId} has no signing key`,
      );
    const key = { kid: row.kid, customerId: row.customer_id, privateKey: this.#decrypt(row) };
    this.#signing.set(customerId, {
      key,
      until: now + (this.#opts.signingKeyCacheSeconds ?? 5) * 1000,
    });
    return key;
  }

  /**
   * A public key by kid, with its customer; undefined if unknown. Known keys are remembered, and
   * answered at once (not with a promise): see VerifierStores.
   */
  publicKey(kid: string): PublicKeyRecord | undefined | Promise<PublicKeyRecord | undefined> {
    const hit = this.#public.get(kid);
    if (hit) return hit;
    const missUntil = this.#unknown.get(kid);
    if (missUntil !== undefined && missUntil > Date.now()) return undefined;
    return this.#fetchPublicKey(kid);
  }

  async #fetchPublicKey(kid: string): Promise<PublicKeyRecord | undefined> {
    const [row]: [{ kid: string; customer_id: string; public_jwk: PublicJwk }?] = await this.#sql`
      SELECT kid, customer_id, public_jwk FROM auth.signing_keys
      WHERE kid = ${kid} AND (verify_until IS NULL OR verify_until > now())`;
    if (!row) {
      // Remember misses briefly, so a flood of made-up kids costs one query per kid per second.
      this.#unknown.set(kid, Date.now() + 1000);
      return undefined;
    }
    const record = {
      kid: row.kid,
      customerId: row.customer_id,
      publicKey: importPublicJwk(row.public_jwk),
    };
    this.#public.set(kid, record);
    return record;
  }

  /** Every public key that can still verify an unexpired token. */
  async jwks(): Promise<PublicJwk[]> {
    const rows = await this.#sql<{ public_jwk: PublicJwk }[]>`
      SELECT public_jwk FROM auth.signing_keys
      WHERE verify_until IS NULL OR verify_until > now()
      ORDER BY customer_id, created_at`;
    return rows.map((r) => r.public_jwk);
  }

  /**
   * Checks at start-up that every stored private key is encrypted under a master key we hold, and
   * that one of each really decrypts. Throws a one-line error naming AUTH_MASTER_KEY otherwise.
   */
  async checkMasterKeys(): Promise<void> {
    const ids = await this.#sql<{ master_key_id: string; n: number }[]>`
      SELECT master_key_id, count(*)::int AS n FROM auth.signing_keys GROUP BY master_key_id`;
    const known = new Set([this.#keyring.current.id, this.#keyring.previous?.id].filter(Boolean));
    for (const { master_key_id: id, n } of ids) {
      if (!known.has(id)) {
        throw new Error(
          `AUTH_MASTER_KEY: ${n} signing key(s) are encrypted under master key ${id}, but AUTH_MASTER_KEY is ${this.#keyring.current.id}` +
            (this.#keyring.previous
              ? ` and AUTH_MASTER_KEY_PREVIOUS is ${this.#keyring.previous.id}`
              : '') +
            '; set the master key these keys were encrypted with (during a rotation, as AUTH_MASTER_KEY_PREVIOUS)',
        );
      }
      const [row]: [KeyRow?] = await this.#sql`
        SELECT kid, customer_id, public_jwk, private_key_nonce, private_key_ct, private_key_tag, master_key_id
        FROM auth.signing_keys WHERE master_key_id = ${id} LIMIT 1`;
      if (row) {
        try {
          this.#decrypt(row);
        } catch {
          throw new Error(
            `AUTH_MASTER_KEY: signing key ${row.kid} does not decrypt under master key ${id}`,
          );
        }
      }
    }
  }

  /**
   * Re-encrypts up to `batch` private keys that are not under the current master key; returns how
   * many it did. Each batch is one transaction; rows being handled by another process are skipped,
   * so several can run at once and an interrupted run simply resumes.
   */
  async reencryptBatch(batch: number, actor: string): Promise<number> {
    return this.#sql.begin(async (tx) => {
      const rows = await tx<KeyRow[]>`
        SELECT kid, customer_id, public_jwk, private_key_nonce, private_key_ct, private_key_tag, master_key_id
        FROM auth.signing_keys
        WHERE master_key_id <> ${this.#keyring.current.id}
        ORDER BY kid
        LIMIT ${batch}
        FOR UPDATE SKIP LOCKED`;
      for (const row of rows) {
        const der = exportPrivateKey(this.#decrypt(row));
        const sealed = this.#keyring.encrypt(der, { customerId: row.customer_id, kid: row.kid });
        await tx`
          UPDATE auth.signing_keys
          SET private_key_nonce = ${sealed.nonce}, private_key_ct = ${sealed.ciphertext},
              private_key_tag = ${sealed.tag}, master_key_id = ${sealed.masterKeyId}
          WHERE kid = ${row.kid}`;
        await recordAudit(tx, {
          customerId: row.customer_id,
          actor,
          action: 'signing_key.reencrypt',
          target: row.kid,
          details: { from: row.master_key_id, to: sealed.masterKeyId },
        });
      }
      return rows.length;
    });
  }
}
