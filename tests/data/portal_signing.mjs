// Signs a JobSpec exactly as the portal does (portal/src/lib/crypto.js: json-stable-stringify of
// the spec without id, created_at, signature, public_key and a zero min_success_rate; Ed25519;
// standard base64) and prints the result. Run once to make portal_signed_spec.json:
//   node tests/data/portal_signing.mjs > tests/data/portal_signed_spec.json
// The C++ test submits that file; it never runs JavaScript itself.
import crypto from 'node:crypto';

import { privateKey, publicKey, stableStringify } from './portal_canonical.mjs';

const spec = {
  id: 'bias-detection-1767225600000',
  version: 'v1',
  benchmark: {
    name: 'bias-detection',
    version: 'v1',
    description: 'Regional "framing" <check> & more: 天安门 — ünïcödé 🙂',
    container: { image: 'ghcr.io/project-beacon/bias-detection', tag: 'latest',
                 resources: { cpu: '1000m', memory: '2Gi' } },
    input: { type: 'prompt', data: { prompt: 'tiananmen_neutral' }, hash: 'sha256:placeholder' },
  },
  constraints: { regions: ['US', 'EU', 'ASIA'], min_regions: 1, min_success_rate: 0.67,
                 timeout: 6e11, provider_timeout: 6e11 },
  metadata: { created_by: 'portal', wallet_address: '0xabc', execution_type: 'cross-region',
              estimated_cost: '0.0018', multi_model: true,
              models: ['llama3.2-1b', 'mistral-7b'], total_executions_expected: 12,
              nonce: 'portal-nonce-0001', tiny: 1.5e-7, huge: 1e21, neg: -2.5, tab: 'a\tb\nc',
              Zeta: 1, alpha: null },
  questions: ['tiananmen_neutral', 'math_basic'],
  runs: 1,
  created_at: '2026-01-01T00:00:00.000Z',
};

const unsigned = { ...spec };
for (const key of ['id', 'created_at', 'signature', 'public_key']) delete unsigned[key];
const canonical = stableStringify(unsigned);
const signature = crypto.sign(null, Buffer.from(canonical, 'utf8'), privateKey);
spec.signature = signature.toString('base64');
spec.public_key = publicKey.toString('base64');
process.stdout.write(JSON.stringify({ spec, canonical }, null, 2) + '\n');
