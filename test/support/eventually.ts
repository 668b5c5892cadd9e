/**
 * Polls `check` every 50 ms until it holds; throws, naming `what`, if it has not within `ms`.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'the condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`${what} was not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
