import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectSecrets, redactNotifyConfig, redactSecrets, redactUrl } from '../../lib/notify/redact.ts';
import { type NotifyConfig, type WebhookConfig } from '../../lib/core/types.ts';

function hook(url: string, overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return { url, format: 'json', events: null, services: null, secret: null, headers: {}, timeoutMs: 5000, retries: 3, ...overrides };
}

const SLACK = 'https://hooks.slack.com/services/T0001/B0002/XyZsecretToken123';
const DISCORD = 'https://discord.com/api/webhooks/123456789012345678/AbCdEf-discordToken_99';
const GENERIC = 'https://alerts.example.com/api/v2/hooks/9f8e7d6c5b4a39281706?token=query-secret-1&x=2';
const config: NotifyConfig = {
  webhooks: [
    hook(SLACK, { format: 'slack' }),
    hook(DISCORD, { format: 'discord', secret: 'hmac-secret-value' }),
    hook(GENERIC, { headers: { Authorization: 'Bearer bearer-token-xyz', 'X-Api-Key': 'api-key-456' } }),
    hook('https://user:pa%24%24word@basic.example.com/notify'),
  ],
  command: `./scripts/notify.ts --forward ${SLACK}`,
};
const SECRET_WORDS = ['XyZsecretToken123', 'discordToken', '123456789012345678', 'query-secret-1', '9f8e7d6c5b4a39281706', 'hmac-secret-value', 'bearer-token-xyz', 'api-key-456', 'pa%24%24word', 'pa$$word', 'T0001'];

describe('redactUrl', () => {
  const cases: Array<[string, string, string]> = [
    ['slack: the token is the path', SLACK, 'https://hooks.slack.com/***'],
    ['discord: id and token in the path', DISCORD, 'https://discord.com/***'],
    ['query string and token-like segments', GENERIC, 'https://alerts.example.com/api/v2/hooks/***?***'],
    ['plain route words stay', 'http://127.0.0.1:8080/webhook/restart-control', 'http://127.0.0.1:8080/webhook/restart-control'],
    ['mixed-case segments are tokens', 'https://example.com/hook/AbCdEfGh', 'https://example.com/hook/***'],
    ['user info', 'https://user:pass@example.com/', 'https://***@example.com/'],
    ['fragment', 'https://example.com/x#secret', 'https://example.com/x#***'],
    ['ntfy topics are secrets', 'https://ntfy.sh/my-private-topic', 'https://ntfy.sh/***'],
    ['unparseable', 'not a url token=abc', '***'],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(redactUrl(input), expected));
});

describe('collectSecrets and redactSecrets', () => {
  const secrets = collectSecrets(config);

  it('collects URL tokens, query values, HMAC secrets and header values (and the bare bearer token)', () => {
    for (const secret of [SLACK, '/services/T0001/B0002/XyZsecretToken123', 'XyZsecretToken123', 'query-secret-1', 'hmac-secret-value', 'Bearer bearer-token-xyz', 'bearer-token-xyz', 'api-key-456', 'pa$$word']) {
      assert.ok(secrets.includes(secret), `missing ${secret}`);
    }
    assert.ok(!secrets.includes('api'), 'plain route words are not secrets');
  });

  it('replaces every secret in free text, longest first, raw or URL-encoded', () => {
    const text = `POST ${SLACK} failed; token=query-secret-1 auth="Bearer bearer-token-xyz" key=api-key-456 sig=hmac-secret-value enc=${encodeURIComponent('pa$$word')}`;
    const redacted = redactSecrets(text, secrets);
    assert.equal(redacted, 'POST *** failed; token=*** auth="***" key=*** sig=*** enc=***');
  });

  it('leaves text without secrets alone and ignores too-short secrets', () => {
    assert.equal(redactSecrets('connect ECONNREFUSED 127.0.0.1:9', ['abc', '1']), 'connect ECONNREFUSED 127.0.0.1:9');
    assert.equal(redactSecrets('nothing here', []), 'nothing here');
  });
});

describe('redactNotifyConfig', () => {
  it('shows the config with every secret as ***', () => {
    const shown = redactNotifyConfig(config) as NotifyConfig;
    const text = JSON.stringify(shown);
    for (const word of SECRET_WORDS) assert.ok(!text.includes(word), `${word} leaked: ${text}`);
    assert.equal(shown.webhooks[0]!.url, 'https://hooks.slack.com/***');
    assert.equal(shown.webhooks[0]!.secret, null);
    assert.equal(shown.webhooks[1]!.secret, '***');
    assert.deepEqual(shown.webhooks[2]!.headers, { Authorization: '***', 'X-Api-Key': '***' });
    assert.equal(shown.webhooks[2]!.format, 'json');
    assert.equal(shown.webhooks[2]!.retries, 3);
    assert.equal(shown.command, './scripts/notify.ts --forward ***');
    assert.equal(config.webhooks[2]!.headers.Authorization, 'Bearer bearer-token-xyz', 'the input is not modified');
  });
});
