import { type Stack, Token } from 'aws-cdk-lib';

/**
 * How cdk-nag spells the partition inside finding ids for ARNs built by `Stack.formatArn`:
 * a literal when `@aws-cdk/core:enablePartitionLiterals` resolves it (cdk.json), else the pseudo parameter.
 */
export function nagPartition(stack: Stack): string {
  return Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
}
