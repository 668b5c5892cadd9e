/**
 * Moving customers off X-API-Key: every customer without an active app token gets a signing key
 * (if missing) and an app token, each customer in its own transaction under its row lock, so that
 * an interrupted run can simply be run again and concurrent runs never give a customer two.
 */
import type { AuthCore } from './auth-core.js';

export interface BootstrapLine {
  customer_id: string;
  app_token: string;
  expires_at: string;
}

export interface BootstrapSummary {
  customers: number;
  created: number;
  skipped: number;
  failed: number;
}

export async function bootstrapCustomers(
  core: AuthCore,
  emit: (line: BootstrapLine) => Promise<void>,
  progress: (line: string) => void,
): Promise<BootstrapSummary> {
  const summary: BootstrapSummary = { customers: 0, created: 0, skipped: 0, failed: 0 };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await core.sql<{ id: string; name: string }[]>`
      SELECT id::text, name FROM public.customers WHERE id > ${after}::uuid ORDER BY id LIMIT 500`;
    if (batch.length === 0) break;
    for (const customer of batch) {
      summary.customers++;
      try {
        const created = await core.tokens.createAppTokenIfNoneActive(customer.id, 'bootstrap');
        if (!created) {
          summary.skipped++;
          progress(`customer ${customer.id}: has an active app token, skipped`);
          continue;
        }
        await emit({
          customer_id: customer.id,
          app_token: created.token,
          expires_at: created.expiresAt.toISOString(),
        });
        summary.created++;
        progress(
          `customer ${customer.id}: app token created${created.signingKeyCreated ? ' (and signing key)' : ''}`,
        );
      } catch (error) {
        summary.failed++;
        progress(
          `customer ${customer.id}: FAILED: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    after = (batch[batch.length - 1] as { id: string }).id;
  }
  return summary;
}
