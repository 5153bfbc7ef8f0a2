import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOrigin, decideAccess, noteAuthFailure, NO_FAILURES, parseCookies, type AccessRequest } from '../../lib/web/auth.ts';
import { isLoopback, normaliseBasePath, pageUrl, parseListen } from '../../lib/web/address.ts';

const base: AccessRequest = {
  method: 'GET', access: 'read', loopback: true, token: 'sekrit', bearer: null, query: null, cookie: null, origin: null, hosts: ['127.0.0.1:7070'],
};
const allowed = (request: Partial<AccessRequest>) => decideAccess({ ...base, ...request }).allow;
const refusal = (request: Partial<AccessRequest>) => {
  const decision = decideAccess({ ...base, ...request });
  assert.equal(decision.allow, false, JSON.stringify(request));
  return decision as Extract<typeof decision, { allow: false }>;
};

test('reading: free on loopback, token needed beyond it', () => {
  assert.equal(allowed({}), true);
  assert.equal(allowed({ token: null }), true);
  assert.equal(refusal({ loopback: false }).status, 401);
  assert.equal(allowed({ loopback: false, cookie: 'sekrit' }), true);
  assert.equal(allowed({ loopback: false, bearer: 'sekrit' }), true);
});

test('a wrong token is a 401 and counts as a failure, wherever it came from', () => {
  for (const where of ['bearer', 'query', 'cookie'] as const) {
    const decision = refusal({ [where]: 'guess' });
    assert.equal(decision.status, 401);
    assert.equal(decision.wrongToken, true);
    assert.equal(decision.clearCookie, where === 'cookie');
  }
  // a missing token is not a wrong one
  assert.equal(refusal({ loopback: false }).wrongToken, false);
});

test('?token= sets the cookie', () => {
  const decision = decideAccess({ ...base, query: 'sekrit' });
  assert.deepEqual(decision, { allow: true, authenticated: true, setCookie: true });
  assert.deepEqual(decideAccess({ ...base, cookie: 'sekrit' }), { allow: true, authenticated: true, setCookie: false });
});

test('actions: POST only, token required, CSRF checked', () => {
  const action = { access: 'action', method: 'POST', origin: 'http://127.0.0.1:7070' } as const;
  assert.equal(refusal({ ...action, method: 'GET', cookie: 'sekrit' }).status, 405);
  assert.equal(refusal({ ...action }).status, 401);
  assert.equal(refusal({ ...action, token: null }).status, 403);
  assert.equal(allowed({ ...action, cookie: 'sekrit' }), true);
  assert.equal(refusal({ ...action, cookie: 'sekrit', origin: 'http://evil.example' }).status, 403);
  assert.equal(refusal({ ...action, cookie: 'sekrit', origin: null }).status, 403);
  // scripts: a bearer header and no Origin
  assert.equal(allowed({ ...action, bearer: 'sekrit', origin: null }), true);
  assert.equal(refusal({ ...action, bearer: 'sekrit', origin: 'http://evil.example' }).status, 403);
  // behind a proxy that forwards its own host
  assert.equal(allowed({ ...action, cookie: 'sekrit', origin: 'https://lab.example', hosts: ['127.0.0.1:7070', 'lab.example'] }), true);
});

test('checkOrigin', () => {
  assert.equal(checkOrigin('http://a:1', ['a:1'], false), null);
  assert.match(checkOrigin('not a url', ['a:1'], false)!, /malformed/);
  assert.match(checkOrigin(null, ['a:1'], false)!, /Origin/);
});

test('web_auth_failed: one event per minute, the next one counts what was held back', () => {
  let limit = NO_FAILURES;
  const note = (at: number) => { const result = noteAuthFailure(limit, at); limit = result.limit; return result; };
  assert.deepEqual([note(0).record, note(1000).record, note(59_000).record], [true, false, false]);
  const next = note(60_000);
  assert.equal(next.record, true);
  assert.equal(next.count, 3);
});

test('cookies, listen addresses, base paths', () => {
  assert.equal(parseCookies('a=1; restart_control_token=x%20y').get('restart_control_token'), 'x y');
  assert.deepEqual(parseListen('127.0.0.1:7070'), { host: '127.0.0.1', port: 7070 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListen('7070'), { host: '127.0.0.1', port: 7070 });
  assert.equal(parseListen('host:99999'), null);
  assert.equal(parseListen('nonsense'), null);
  assert.deepEqual(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '0.0.0.0', '::', '192.168.1.2'].map(isLoopback), [true, true, true, true, false, false, false]);
  assert.equal(normaliseBasePath('proxy/7070'), '/proxy/7070/');
  assert.equal(normaliseBasePath('/'), '/');
  assert.equal(pageUrl({ host: '0.0.0.0', port: 1 }, '/x/'), 'http://127.0.0.1:1/x/');
});
