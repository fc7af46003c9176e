import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG } from '../lib/config';
import {
  connectionBudget,
  DEPLOY_BATCH_PERCENT,
  estimateMaxConnections,
  planConnections,
  RESERVED_CONNECTIONS,
} from '../lib/connection-budget';

t.test('max_connections estimates: the RDS formula on three quarters of the class memory', async (t) => {
  t.same(
    ['t4g.micro', 't4g.small', 't4g.medium', 't4g.large', 't3.micro', 'm7g.large', 'r7g.large'].map(estimateMaxConnections),
    [84, 168, 337, 675, 84, 675, 1351],
  );
  t.equal(estimateMaxConnections('x2g.large'), undefined, 'unknown classes are not guessed');
});

t.test('the default fleet fits each t4g class with the largest pool up to the service default of 10', async (t) => {
  const plans = ['t4g.micro', 't4g.small', 't4g.medium', 't4g.large'].map((databaseInstanceType) =>
    planConnections({ ...DEFAULT_CONFIG, databaseInstanceType }),
  );
  t.same(plans.map((plan) => plan.poolMax), [3, 7, 10, 10]);
  t.same(plans.map((plan) => plan.budget.total), [76, 148, 202, 202]);
  for (const plan of plans) {
    t.ok(plan.budget.fits);
    t.equal(plan.budget.available, plan.maxConnections - RESERVED_CONNECTIONS);
  }
  // One more connection per instance would not fit db.t4g.micro.
  const micro = plans[0]!;
  t.notOk(connectionBudget({ maxConnections: micro.maxConnections, maxInstances: 6, deployBatchPercent: 50, poolMax: 4 }).fits);
});

t.test('every term of the budget: fleet, immutable-update surge, rotation overlap, migration, operations', async (t) => {
  const budget = connectionBudget({ maxConnections: 84, maxInstances: 6, deployBatchPercent: 50, poolMax: 3 });
  t.same(
    budget.lines.map((line) => line.connections),
    [6 * (3 + 1), 6 * (3 + 1), 6 * 3, 3 * 2, 4],
  );
  t.equal(budget.total, 76);
  t.equal(budget.available, 79);
});

t.test('a configuration that does not fit fails synthesis with the budget', async (t) => {
  t.throws(
    () => planConnections({ ...DEFAULT_CONFIG, databasePoolMax: 10 }),
    /does not fit db\.t4g\.micro[\s\S]*total, against 79 available/,
  );
  t.throws(() => planConnections({ ...DEFAULT_CONFIG, databaseInstanceType: 'x2g.large' }), /set context databaseMaxConnections/);
  t.equal(planConnections({ ...DEFAULT_CONFIG, databaseInstanceType: 'x2g.large', databaseMaxConnections: 2000 }).poolMax, 10);
  t.equal(planConnections({ ...DEFAULT_CONFIG, databaseMaxConnections: 81 }).poolMax, 3, 'a measured value replaces the estimate');
});

t.test("the budget's deploy batch is the bundle's rolling BatchSize", async (t) => {
  const deployment = readFileSync(join(__dirname, '..', '..', '.ebextensions', '04-deployment.config'), 'utf8');
  t.match(deployment, /BatchSizeType: Percentage/);
  t.equal(Number(/BatchSize: "(\d+)"/.exec(deployment)?.[1]), DEPLOY_BATCH_PERCENT);
});
