// The portal's signing pieces, shared by the test scripts: json-stable-stringify (substack), the
// portal's canonicaliser (sorted keys, compact), and a fixed Ed25519 test key.
import crypto from 'node:crypto';

// json-stable-stringify (substack), the portal's canonicaliser: sorted keys, compact.
export function stableStringify(node) {
  if (node && node.toJSON && typeof node.toJSON === 'function') node = node.toJSON();
  if (node === undefined) return undefined;
  if (typeof node === 'number') return isFinite(node) ? '' + node : 'null';
  if (typeof node !== 'object') return JSON.stringify(node);
  if (node === null) return 'null';
  if (Array.isArray(node)) {
    return '[' + node.map((x) => stableStringify(x) || 'null').join(',') + ']';
  }
  const out = [];
  for (const key of Object.keys(node).sort()) {
    const value = stableStringify(node[key]);
    if (!value) continue;
    out.push(JSON.stringify(key) + ':' + value);
  }
  return '{' + out.join(',') + '}';
}

const seed = Buffer.alloc(32, 7);  // a fixed test key
export const privateKey = crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
  format: 'der',
  type: 'pkcs8',
});
export const publicKey = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12);
