/**
 * An operator-mode nats-server config and a user creds file, made here with the client's own nkeys (no nsc tool):
 * operator → account → user JWTs, each signed by its issuer (ed25519), as nsc would write them.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const base64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

function encodeJwt(claims: Record<string, unknown>, signer: KeyPair): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const withoutJti = { ...claims, iat: Math.floor(Date.now() / 1000) };
  const jti = createHash('sha256').update(JSON.stringify(withoutJti)).digest('base64url').toUpperCase().replace(/[^A-Z2-7]/g, 'A').slice(0, 52);
  const payload = base64url(JSON.stringify({ jti, ...withoutJti }));
  const signature = base64url(signer.sign(new TextEncoder().encode(`${header}.${payload}`)));
  return `${header}.${payload}.${signature}`;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Writes op.jwt and user.creds into `dir`; returns the nats-server config text and the creds file path. */
export function operatorSetup(dir: string): { serverConfig: string; credsFile: string; wrongCredsFile: string } {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const operatorJwt = encodeJwt({ iss: operator.getPublicKey(), sub: operator.getPublicKey(), name: 'op', nats: { type: 'operator', version: 2 } }, operator);
  const accountJwt = encodeJwt({
    iss: operator.getPublicKey(), sub: account.getPublicKey(), name: 'telescope',
    nats: { limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 }, default_permissions: { pub: {}, sub: {} }, type: 'account', version: 2 },
  }, operator);
  const creds = (signer: KeyPair, name: string) => {
    const user = nkeys.createUser();
    const userJwt = encodeJwt({ iss: signer.getPublicKey(), sub: user.getPublicKey(), name, nats: { pub: {}, sub: {}, subs: -1, data: -1, payload: -1, type: 'user', version: 2 } }, signer);
    const file = join(dir, `${name}.creds`);
    writeFileSync(file, `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${text(user.getSeed())}\n------END USER NKEY SEED------\n`);
    return file;
  };
  writeFileSync(join(dir, 'op.jwt'), operatorJwt);
  return {
    serverConfig: `operator: ${join(dir, 'op.jwt')}\nresolver: MEMORY\nresolver_preload: { ${account.getPublicKey()}: "${accountJwt}" }\n`,
    credsFile: creds(account, 'scope'),
    // Signed by an account the server does not know
    wrongCredsFile: creds(nkeys.createAccount(), 'stranger'),
  };
}
