import type { CfnEnvironment } from 'aws-cdk-lib/aws-elasticbeanstalk';

/** `{ namespace: { OptionName: value } }` → the flat list CloudFormation expects. */
export type OptionSettingsByNamespace = Record<string, Record<string, string>>;

export function toOptionSettings(
  byNamespace: OptionSettingsByNamespace,
): CfnEnvironment.OptionSettingProperty[] {
  return Object.entries(byNamespace).flatMap(([namespace, options]) =>
    Object.entries(options).map(([optionName, value]) => ({ namespace, optionName, value })),
  );
}
