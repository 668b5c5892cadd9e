/**
 * The policy pack `pulumi preview --policy-pack infra/policy` runs (see PulumiPolicy.yaml and
 * infra/README.md). The policies themselves live in `policies.ts`, where the tests import them.
 */
import { PolicyPack } from '@pulumi/policy';
import { policies } from './policies.js';

new PolicyPack('quint-guardrails', { enforcementLevel: 'mandatory', policies: [...policies] });
