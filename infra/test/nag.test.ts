import t from 'tap';
import { Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { synthesize } from './synth';

t.test('cdk-nag AwsSolutions leaves no unacknowledged finding, errors or warnings', async (t) => {
  const { report, templates } = synthesize();
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((violation) => `${plugin.pluginName}: ${violation.ruleName}`),
  );
  t.same(findings, []);

  const acknowledgements = Object.values(templates)
    .flatMap((template) => Object.values(template.toJSON().Resources) as any[])
    .flatMap((resource) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) as { id: string; reason: string }[];
  const ours = acknowledgements.filter((ack) => ack.id.startsWith('AwsSolutions-'));
  t.ok(ours.length > 0, 'acknowledgements are written to the templates');
  for (const ack of ours) {
    t.match(ack.reason, /^[^\n]{10,140}$/, `${ack.id} has a one-line reason`);
  }
});

t.test('the checks are live: an unacknowledged finding fails synthesis', async (t) => {
  t.throws(
    () =>
      synthesize({}, (app) => {
        new sqs.Queue(new Stack(app, 'Unchecked'), 'QueueWithoutDeadLetterQueue');
      }),
    /AwsSolutions-SQS3/,
  );
});
