import { Arn, Fn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { nagPartition } from './nag';

export interface LoadBalancerLookupProps {
  readonly applicationName: string;
  readonly environmentName: string;
}

/**
 * Elastic Beanstalk creates the environment's load balancer itself and CloudFormation exposes
 * no attribute for it, so this reads its ARN (and its default target group's) after the
 * environment exists. Both calls run again on every stack update that changes the environment.
 */
export class LoadBalancerLookup extends Construct {
  readonly loadBalancerArn: string;
  readonly targetGroupArn: string;
  /** `app/<name>/<id>`: the `LoadBalancer` dimension of AWS/ApplicationELB metrics. */
  readonly loadBalancerMetricDimension: string;
  /** `targetgroup/<name>/<id>`: the `TargetGroup` dimension of AWS/ApplicationELB metrics. */
  readonly targetGroupMetricDimension: string;

  constructor(scope: Construct, id: string, props: LoadBalancerLookupProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const environmentArn = Arn.format(
      {
        service: 'elasticbeanstalk',
        resource: 'environment',
        resourceName: `${props.applicationName}/${props.environmentName}`,
      },
      stack,
    );

    const describeEnvironment: cr.AwsSdkCall = {
      service: 'ElasticBeanstalk',
      action: 'describeEnvironmentResources',
      parameters: { EnvironmentName: props.environmentName },
      physicalResourceId: cr.PhysicalResourceId.of(`${props.environmentName}-load-balancer`),
      outputPaths: ['EnvironmentResources.LoadBalancers.0.Name'],
    };
    const environmentResources = new cr.AwsCustomResource(this, 'EnvironmentResources', {
      onCreate: describeEnvironment,
      onUpdate: describeEnvironment,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['elasticbeanstalk:DescribeEnvironmentResources'],
          resources: [environmentArn],
        }),
        // Elastic Beanstalk answers this call with the caller's rights on the services behind it.
        new iam.PolicyStatement({
          actions: [
            'cloudformation:DescribeStackResource',
            'cloudformation:DescribeStackResources',
          ],
          resources: [
            Arn.format({ service: 'cloudformation', resource: 'stack', resourceName: 'awseb-*' }, stack),
          ],
        }),
        new iam.PolicyStatement({
          actions: [
            'autoscaling:DescribeAutoScalingGroups',
            'autoscaling:DescribeLaunchConfigurations',
            'ec2:DescribeInstances',
            'elasticloadbalancing:DescribeLoadBalancers',
            'elasticloadbalancing:DescribeTargetGroups',
          ],
          resources: ['*'],
        }),
      ]),
    });
    // For an Application Load Balancer, Elastic Beanstalk reports the ARN as the "Name".
    this.loadBalancerArn = environmentResources.getResponseField(
      'EnvironmentResources.LoadBalancers.0.Name',
    );

    const describeTargetGroups: cr.AwsSdkCall = {
      service: 'ElasticLoadBalancingV2',
      action: 'describeTargetGroups',
      parameters: { LoadBalancerArn: this.loadBalancerArn },
      physicalResourceId: cr.PhysicalResourceId.of(`${props.environmentName}-target-group`),
      outputPaths: ['TargetGroups.0.TargetGroupArn'],
    };
    const targetGroups = new cr.AwsCustomResource(this, 'TargetGroups', {
      onCreate: describeTargetGroups,
      onUpdate: describeTargetGroups,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:DescribeTargetGroups'],
          resources: ['*'],
        }),
      ]),
    });
    this.targetGroupArn = targetGroups.getResponseField('TargetGroups.0.TargetGroupArn');

    this.loadBalancerMetricDimension = Fn.select(1, Fn.split('loadbalancer/', this.loadBalancerArn));
    this.targetGroupMetricDimension = Fn.select(5, Fn.split(':', this.targetGroupArn));

    // AwsCustomResource puts its one provider Lambda per stack at the stack root.
    const providerId = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;
    Validations.of(stack.node.findChild(providerId)).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWS-maintained policy that only lets the lookup Lambda write its own CloudWatch logs.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Describe calls on Auto Scaling, EC2 and ELB support no resource-level permissions; read-only.',
    });
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(stack)}:cloudformation:${stack.region}:${stack.account}:stack/awseb-*]`,
      reason: 'Elastic Beanstalk names its own stack awseb-<environment id>-stack, unknown until it exists; read-only.',
    });
  }
}
