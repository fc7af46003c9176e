import { Arn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { nagPartition } from './nag';

export interface RecommendedPlatformVersionProps {
  /** EB platform branch, e.g. `Node.js 22 running on 64bit Amazon Linux 2023`. */
  readonly branchName: string;
}

/**
 * The ARN of the platform version Elastic Beanstalk recommends on a branch, read when the stack
 * creates it (or when the branch changes). A pinned version goes stale: superseded versions are
 * not offered to accounts that never used them. The template keeps the ARN it read, so later
 * deploys leave the platform to managed updates, which move it within the branch in place
 * (PlatformArn updates need no replacement; SolutionStackName changes do). EB API reference,
 * ListPlatformVersions and PlatformFilter (`PlatformLifecycleState = recommended`).
 */
export class RecommendedPlatformVersion extends Construct {
  readonly platformArn: string;

  constructor(scope: Construct, id: string, props: RecommendedPlatformVersionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const listRecommended: cr.AwsSdkCall = {
      service: 'ElasticBeanstalk',
      action: 'listPlatformVersions',
      parameters: {
        Filters: [
          { Type: 'PlatformBranchName', Operator: '=', Values: [props.branchName] },
          { Type: 'PlatformLifecycleState', Operator: '=', Values: ['recommended'] },
        ],
      },
      physicalResourceId: cr.PhysicalResourceId.of(props.branchName),
      outputPaths: ['PlatformSummaryList.0.PlatformArn'],
    };
    const platformsArn = Arn.format(
      { service: 'elasticbeanstalk', account: '', resource: 'platform', resourceName: '*' },
      stack,
    );
    const lookup = new cr.AwsCustomResource(this, 'Lookup', {
      onCreate: listRecommended,
      onUpdate: listRecommended,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        // The answer only lists the platform versions the caller may read.
        new iam.PolicyStatement({ actions: ['elasticbeanstalk:ListPlatformVersions'], resources: [platformsArn] }),
      ]),
    });
    this.platformArn = lookup.getResponseField('PlatformSummaryList.0.PlatformArn');

    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(stack)}:elasticbeanstalk:${stack.region}::platform/*]`,
      reason: 'Lists the public EB platform versions of the region to find the recommended one; read-only.',
    });
  }
}
