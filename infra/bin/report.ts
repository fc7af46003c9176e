/**
 * Prints, from a fresh synthesis with cdk.json's context, the resources per stack, every cdk-nag
 * acknowledgement with its reason, and the database connection budget per instance class (the
 * numbers quoted in docs/infrastructure.md and docs/production-database.md).
 */
import { App } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBudget, planConnections } from '../lib/connection-budget';
import { buildMissionControl } from '../lib/mission-control';

const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8'));
const app = new App({ context: cdkJson.context, outdir: join(__dirname, '..', 'cdk.out') });
const { config } = buildMissionControl(app);
const assembly = app.synth();

for (const stack of assembly.stacks) {
  const resources = Object.values(stack.template.Resources ?? {}) as {
    Type: string;
    Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } };
  }[];
  const byType = new Map<string, number>();
  for (const resource of resources) byType.set(resource.Type, (byType.get(resource.Type) ?? 0) + 1);
  console.log(`\n## ${stack.stackName}: ${resources.length} resources`);
  for (const [type, count] of [...byType].sort()) console.log(`- ${type}: ${count}`);

  const acknowledgements = new Map<string, string>();
  for (const resource of resources) {
    for (const { id, reason } of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
      if (id.startsWith('AwsSolutions-')) acknowledgements.set(id, reason);
    }
  }
  if (acknowledgements.size > 0) console.log('\ncdk-nag acknowledgements:');
  for (const [id, reason] of [...acknowledgements].sort()) console.log(`- ${id}: ${reason}`);
}

console.log(`\n## Database connection budget (maxInstances ${config.maxInstances})`);
for (const databaseInstanceType of [...new Set([config.databaseInstanceType, 't4g.micro', 't4g.small', 't4g.medium', 't4g.large'])]) {
  const plan = planConnections({ ...config, databaseInstanceType, databasePoolMax: undefined });
  console.log(`\ndb.${databaseInstanceType}: max_connections ≈ ${plan.maxConnections}, pool ${plan.poolMax}`);
  console.log(formatBudget(plan.budget, plan.maxConnections));
}
