// Signs N JobSpecs exactly as the portal does (json-stable-stringify, Ed25519, standard base64;
// see portal_signing.mjs) and writes one signed spec per line to stdout. The specs carry what
// breaks naive canonicalisers: random doubles of every magnitude, integers beyond 2^53, -0,
// numbers written in other textual forms than JavaScript's (6E11, 1.50e-7, 1e-400, 30 digits),
// and unicode strings and keys (astral characters sort by UTF-16 code units). Deterministic for
// a given seed. Usage: node portal_sign_many.mjs COUNT [SEED]
import crypto from 'node:crypto';

import { privateKey, publicKey, stableStringify } from './portal_canonical.mjs';

const count = Number(process.argv[2] || 1000);
let state = BigInt(process.argv[3] || 20261201);
function next() {  // xorshift64*
  state ^= state >> 12n; state ^= (state << 25n) & 0xffffffffffffffffn; state ^= state >> 27n;
  return Number(((state * 2685821657736338717n) & 0xffffffffffffffffn) >> 11n) / 2 ** 53;
}
const pick = (xs) => xs[Math.floor(next() * xs.length)];

function randomDouble() {
  const kind = Math.floor(next() * 6);
  if (kind === 0) return next();                                  // 0..1, 16-17 digits
  if (kind === 1) return (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
  if (kind === 2) return next() * 10 ** Math.floor(next() * 600 - 300);  // 1e-300..1e300
  if (kind === 3) return Math.floor(next() * 2 ** 53) * (next() < 0.5 ? -1 : 1) * 2 ** Math.floor(next() * 20);
  if (kind === 4) return Math.round(next() * 1e6) / 100;          // 2-decimal money-like
  return Number.MIN_VALUE * Math.floor(1 + next() * 1000);        // subnormals
}

const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\t', '\u0001', '\u007f', 'é', 'ü', '天',
  '安', '门', '\u2028', '\ue000', '\uffee', '😀', '🙂', '𝄞', '—', '«', '\u00a0'];
function randomString(n) {
  let s = '';
  for (let i = 0; i < n; ++i) s += pick(alphabet);
  return s;
}

// Numbers whose text is not JavaScript's own, with the value JavaScript reads from them.
const textual = [['6E11', 6e11], ['1.50e-7', 1.5e-7], ['1e-400', 0], ['-0', -0], ['-0.0', -0],
  ['0.10', 0.1], ['123456789012345678901234567890', 123456789012345678901234567890],
  ['9007199254740993', 9007199254740993], ['18446744073709551615', 18446744073709551615],
  ['-9223372036854775808', -9223372036854775808], ['1e21', 1e21], ['1E+2', 100],
  ['2.2250738585072011e-308', 2.2250738585072011e-308], ['4.9e-324', 5e-324]];

const publicKeyBase64 = publicKey.toString('base64');

const lines = [];
for (let i = 0; i < count; ++i) {
  const placeholders = [];
  const metadata = { created_by: 'portal', nonce: `n-${i}`, models: ['llama3.2-1b'],
    estimated_cost: randomDouble(), weights: [randomDouble(), randomDouble(), -0, 2 ** 60 + i] };
  for (let k = 0; k < 3; ++k) metadata[randomString(1 + Math.floor(next() * 4))] = randomString(Math.floor(next() * 12));
  const [text, value] = pick(textual);
  metadata.textual = `@@${placeholders.length}@@`;
  placeholders.push(text);
  const spec = {
    id: `sig-${i}`, version: 'v1',
    benchmark: { name: 'bias-detection', description: randomString(8),
      input: { type: 'prompt', data: { prompt: 'math_basic' }, hash: 'sha256:placeholder' } },
    constraints: { regions: ['US', 'EU'], min_regions: 1, min_success_rate: pick([0.67, 0.5, 1, 0]),
      timeout: 6e11, provider_timeout: 6e11 },
    metadata, questions: ['math_basic'], runs: 1,
  };
  // What the portal signs: the spec as JavaScript holds it (the textual number read as a value).
  const signed = JSON.parse(JSON.stringify(spec));
  signed.metadata.textual = value;
  delete signed.id;
  if (signed.constraints.min_success_rate === 0) delete signed.constraints.min_success_rate;
  const signature = crypto.sign(null, Buffer.from(stableStringify(signed), 'utf8'), privateKey);
  spec.signature = signature.toString('base64');
  spec.public_key = publicKeyBase64;
  let line = JSON.stringify(spec);
  line = line.replace(`"@@0@@"`, placeholders[0]);
  lines.push(line);
  if (lines.length === 1000) { process.stdout.write(lines.join('\n') + '\n'); lines.length = 0; }
}
if (lines.length) process.stdout.write(lines.join('\n') + '\n');
