import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMissionControl } from '../lib/mission-control';

const INFRA_DIR = join(__dirname, '..');

/** The feature flags the CLI applies from cdk.json, so tests see what `cdk synth` produces. */
function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(INFRA_DIR, 'cdk.json'), 'utf8')).context;
}

export interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

/**
 * Builds the app once with the given context; in-memory mode makes a nag error throw.
 * `extend` may add constructs before synthesis.
 */
export function synthesize(context: Record<string, unknown> = {}, extend?: (app: App) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'mission-control-infra-'));
  const app = new App({
    outdir,
    context: { ...cdkJsonContext(), '@aws-cdk/core:appMode': 'inmemory', ...context },
  });
  const stacks = buildMissionControl(app);
  extend?.(app);
  const assembly = app.synth();
  const template = (stack: { artifactId: string }) =>
    Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  const reportPath = join(outdir, 'validation-report.json');
  const report: ValidationReport = existsSync(reportPath)
    ? JSON.parse(readFileSync(reportPath, 'utf8'))
    : { pluginReports: [] };
  return {
    app,
    stacks,
    report,
    templates: {
      data: template(stacks.data),
      web: template(stacks.web),
      operations: template(stacks.operations),
      pipeline: template(stacks.pipeline),
    },
  };
}

/**
 * Resolves a consumer's cross-stack reference (`Fn::GetStackOutput`, or `Fn::ImportValue`
 * without the newer feature flag) to the value the producer template outputs.
 */
export function exportedValue(producer: Template, reference: unknown): unknown {
  const { 'Fn::GetStackOutput': stackOutput, 'Fn::ImportValue': importName } = reference as {
    'Fn::GetStackOutput'?: { OutputName: string };
    'Fn::ImportValue'?: string;
  };
  const outputs = (producer.toJSON().Outputs ?? {}) as Record<
    string,
    { Value: unknown; Export?: { Name: string } }
  >;
  const output = stackOutput
    ? outputs[stackOutput.OutputName]
    : Object.values(outputs).find((candidate) => importName && candidate.Export?.Name === importName);
  if (!output) throw new Error(`No producer output for ${JSON.stringify(reference)}`);
  return output.Value;
}

/** The only resource of a type, as `[logicalId, resource]`. */
export function single(template: Template, type: string): [string, any] {
  const entries = Object.entries(template.findResources(type));
  if (entries.length !== 1) throw new Error(`Expected one ${type}, found ${entries.length}`);
  return entries[0];
}

/** Option settings of the Elastic Beanstalk environment as `namespace/OptionName → value`. */
export function environmentOptions(web: Template): Map<string, unknown> {
  const [, environment] = single(web, 'AWS::ElasticBeanstalk::Environment');
  return new Map(
    environment.Properties.OptionSettings.map(
      (setting: { Namespace: string; OptionName: string; Value: unknown }) => [
        `${setting.Namespace}/${setting.OptionName}`,
        setting.Value,
      ],
    ),
  );
}
