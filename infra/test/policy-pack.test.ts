/**
 * The policy pack as `pulumi preview --policy-pack infra/policy` runs it: started by Pulumi's own
 * policy runner (`@pulumi/pulumi/cmd/run-policy-pack`) in the pack's folder and asked over the
 * analyzer gRPC protocol, with resources serialized the way the engine sends them (secrets
 * included). This is the CLI's path minus the CLI, which cannot be installed here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb.js';
import {
  AnalyzeStackRequest,
  AnalyzerResource,
  AnalyzerResourceOptions,
  EnforcementLevel,
  type AnalyzeDiagnostic,
  type AnalyzerInfo,
} from '@pulumi/pulumi/proto/analyzer_pb.js';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb.js';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb.js';
import type { JavaScriptValue } from 'google-protobuf/google/protobuf/struct_pb.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { policies } from '../policy/policies.js';
import { evaluateProgram, type Evaluation } from '../testing/evaluate.js';
import { REPO_ROOT } from '../testing/stack-files.js';
import { evaluate, stackConfig } from './stacks.js';

let runner: ChildProcess;
let client: AnalyzerClient;

beforeAll(async () => {
  runner = spawn(
    process.execPath,
    [`${REPO_ROOT}node_modules/@pulumi/pulumi/cmd/run-policy-pack`, '127.0.0.1:1', '.'],
    { cwd: `${REPO_ROOT}infra/policy`, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  runner.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The runner prints the port it serves on as its first line, as it does for the CLI.
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port after 30 s: ${stderr}`)), 30_000);
    runner.once('exit', (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
    createInterface({ input: runner.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 40_000);

afterAll(() => {
  client?.close();
  runner?.kill();
});

function analyzerInfo(): Promise<AnalyzerInfo> {
  return new Promise((resolve, reject) =>
    client.getAnalyzerInfo(new Empty(), (error, info) => (error ? reject(error) : resolve(info))),
  );
}

/** Sends the evaluation's resources, and its stack resource with the outputs, to the pack. */
function analyzeStack(evaluation: Evaluation): Promise<AnalyzeDiagnostic[]> {
  const urn = (type: string, name: string) =>
    `urn:pulumi:${evaluation.stack}::quint::${type}::${name}`;
  const stackResource = new AnalyzerResource()
    .setType('pulumi:pulumi:Stack')
    .setName(`quint-${evaluation.stack}`)
    .setUrn(urn('pulumi:pulumi:Stack', `quint-${evaluation.stack}`))
    .setProperties(
      Struct.fromJavaScript(
        Object.fromEntries(
          Object.entries(evaluation.outputs).map(([k, o]) => [k, o.value as JavaScriptValue]),
        ),
      ),
    )
    .setOptions(new AnalyzerResourceOptions());
  const resources = evaluation.resources.map((r) =>
    new AnalyzerResource()
      .setType(r.type)
      .setName(r.name)
      .setUrn(urn(r.type, r.name))
      .setProperties(Struct.fromJavaScript(r.inputs as Record<string, JavaScriptValue>))
      .setOptions(
        new AnalyzerResourceOptions()
          .setProtect(r.options.protect)
          .setAdditionalsecretoutputsList([...r.options.additionalSecretOutputs]),
      ),
  );
  const request = new AnalyzeStackRequest().setResourcesList([stackResource, ...resources]);
  return new Promise((resolve, reject) =>
    client.analyzeStack(request, (error, response) =>
      error ? reject(error) : resolve(response.getDiagnosticsList()),
    ),
  );
}

it('serves every policy as mandatory under the name quint-guardrails', async () => {
  const info = await analyzerInfo();
  expect(info.getName()).toBe('quint-guardrails');
  expect(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()])).toEqual(
    policies.map((p) => [p.name, EnforcementLevel.MANDATORY]),
  );
});

describe.each(['staging', 'production'] as const)('the %s stack', (stack) => {
  it('passes, secrets and all, as the engine would send it', async () => {
    const program = await evaluate(stack, stackConfig(stack));
    const diagnostics = await analyzeStack(program);
    expect(diagnostics.map((d) => `${d.getPolicyname()}: ${d.getMessage()}`)).toEqual([]);
  });
});

it('stops the deliberately broken stack with a violation from every policy', async () => {
  vi.resetModules();
  const broken = await evaluateProgram({
    stack: 'production',
    config: {},
    load: () => import('./fixtures/broken-stack.js'),
  });
  const diagnostics = await analyzeStack(broken);
  expect(new Set(diagnostics.map((d) => d.getPolicyname()))).toEqual(
    new Set(policies.map((p) => p.name)),
  );
  expect(diagnostics.every((d) => d.getEnforcementlevel() === EnforcementLevel.MANDATORY)).toBe(
    true,
  );
});
