import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'service/**/*.test.ts',
      'scripts/**/*.test.ts',
      'infra/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run print a plain "N passed, N failed" summary line.
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});
