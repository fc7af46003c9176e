import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface RegionalWebAclProps {
  /** Requests per 5 minutes from one IP before it is blocked. */
  readonly rateLimitPer5Minutes: number;
}

/** AWS managed rule groups applied in this order; each blocks what it matches. */
const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
];

/**
 * Rules of those groups that only count. `SizeRestrictions_BODY` blocks bodies over 8 KB with a
 * bare 403; the service (BODY_LIMIT_BYTES, 16 KB) and nginx (`client_max_body_size 16k`) enforce
 * the documented limit with the JSON 413 instead. AWS WAF Developer Guide, "Core rule set (CRS)
 * managed rule group" and "Overriding rule actions in a rule group".
 */
export const COUNTED_MANAGED_RULES: Record<string, string[]> = {
  AWSManagedRulesCommonRuleSet: ['SizeRestrictions_BODY'],
};

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

/** A regional WAF web ACL for the load balancer: per-IP rate limit, then AWS managed rules. */
export class RegionalWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: RegionalWebAclProps) {
    super(scope, id);
    const rateRule: wafv2.CfnWebACL.RuleProperty = {
      name: 'RateLimitPerIp',
      priority: 0,
      action: { block: {} },
      statement: {
        rateBasedStatement: { aggregateKeyType: 'IP', limit: props.rateLimitPer5Minutes },
      },
      visibilityConfig: visibility('RateLimitPerIp'),
    };
    const managedRules = MANAGED_RULE_GROUPS.map(
      (name, index): wafv2.CfnWebACL.RuleProperty => ({
        name,
        priority: index + 1,
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name,
            ruleActionOverrides: COUNTED_MANAGED_RULES[name]?.map((rule) => ({
              name: rule,
              actionToUse: { count: {} },
            })),
          },
        },
        visibilityConfig: visibility(name),
      }),
    );
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      rules: [rateRule, ...managedRules],
      visibilityConfig: visibility(id),
    });
  }
}
