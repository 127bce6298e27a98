import { defineConfig } from 'vitest/config';

// Test layout (README.md "Project layout"): test/unit/ (no broker),
// test/codec/, test/integration/ (the real broker), test/reliability/
// (faults), test/cli/, test/cluster/; test/support/ holds the shared
// fixtures and no tests.
//   test/**/*.test.ts         run in parallel (up to VITEST_MAX_WORKERS files at once, default 2)
//   test/**/*.serial.test.ts  change broker-wide state (memory alarm, closing
//                             connections, ...): run afterwards, one file at a
//                             time, with nothing else running.
//   test/cluster/**/*.test.ts need the three-node cluster of test/support/cluster.sh:
//                             project "cluster", run by `npm run test:cluster`
//                             (test/run-cluster.sh). `npm test` names the other
//                             two projects (--project parallel --project serial),
//                             so it never needs the cluster.
// Every file gets test/support/setup.ts, which fails a test that causes an
// unhandled promise rejection or an uncaught exception.
const maxWorkers = Number(process.env.VITEST_MAX_WORKERS ?? '') || 2;

export default defineConfig({
  test: {
    environment: 'node',
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    // Each test file runs in its own forked process.
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.serial.test.ts', 'test/cluster/**', '**/node_modules/**'],
          maxWorkers,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          include: ['test/**/*.serial.test.ts'],
          exclude: ['test/cluster/**', '**/node_modules/**'],
          fileParallelism: false,
          maxWorkers: 1,
          // Higher group order: starts only after every "parallel" file has finished.
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          // Tests stop and kill shared nodes: one file, one test at a time.
          fileParallelism: false,
          maxWorkers: 1,
          // Starting a node and waiting for it to rejoin takes tens of seconds.
          testTimeout: 300_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
