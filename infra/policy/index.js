// Entry point for Pulumi's policy runner. The runner require()s this folder and registers its own
// vendored ts-node for `.ts`, which cannot compile this ESM code base, so this plain ES module
// (require()-able on Node.js >= 20.19) registers tsx's ESM loader and imports the pack through it.
// The pack starts its gRPC server when constructed; a failure to load reaches the runner's
// unhandled-rejection handler, which reports it and exits.
import { register } from 'tsx/esm/api';

register();
void import('./index.ts');
