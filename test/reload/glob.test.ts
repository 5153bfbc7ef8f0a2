/** Unit: the glob patterns of watch / watch_ignore. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { globBase, globToRegExp, isGlob, matchesAny } from '../../lib/reload/glob.ts';

function check(pattern: string, matching: string[], notMatching: string[]): void {
  const regexp = globToRegExp(pattern);
  for (const path of matching) assert.ok(regexp.test(path), `${pattern} should match ${path} (${regexp})`);
  for (const path of notMatching) assert.ok(!regexp.test(path), `${pattern} should not match ${path} (${regexp})`);
}

describe('globToRegExp', () => {
  test('**/*.log: a .log file at any depth, the top included', () => {
    check('**/*.log', ['app.log', 'logs/app.log', 'a/b/c/debug.log', '.log'], ['app.log.1', 'applog', 'app.logs', 'app.log/x', 'app.txt']);
  });

  test('*.py: one segment only', () => {
    check('*.py', ['main.py', '_x.py', '.py'], ['src/main.py', 'main.pyc', 'main.py/x', 'mainpy']);
  });

  test('src/**: everything under src, not a sibling with the same prefix', () => {
    check('src/**', ['src/a', 'src/a/b/c.ts', 'src/'], ['srcx/a', 'lib/src/a', 'x/src/a']);
  });

  test('a/**/b: zero or more folders between', () => {
    check('a/**/b', ['a/b', 'a/x/b', 'a/x/y/b'], ['a/xb', 'ab', 'a/b/c']);
  });

  test('{a,b}: alternatives, alone or with other wildcards', () => {
    check('{a,b}', ['a', 'b'], ['ab', 'c', '{a,b}', 'a,b']);
    check('*.{js,ts}', ['x.js', 'y.ts'], ['x.py', 'x.jsx', 'x.', 'd/x.js']);
    check('{src,lib}/**/*.py', ['src/m.py', 'lib/a/b.py'], ['test/m.py', 'src/m.pyc']);
  });

  test('? is exactly one character within a segment', () => {
    check('file?.txt', ['file1.txt', 'fileA.txt'], ['file.txt', 'file12.txt', 'file/.txt']);
  });

  test('regexp characters in a pattern are literal', () => {
    check('a.b+(c)$', ['a.b+(c)$'], ['aXb+(c)$', 'a.bb(c)$', 'a.b+c$']);
  });

  test('[abc] and [!abc] are character classes', () => {
    check('v[12]', ['v1', 'v2'], ['v3', 'v[12]']);
    check('v[!12]', ['v3'], ['v1', 'v2']);
  });

  test('the whole path must match: anchored at both ends', () => {
    check('main.py', ['main.py'], ['src/main.py', 'main.py.bak', 'xmain.py']);
  });

  test('an unclosed { is literal', () => {
    check('a{b', ['a{b'], ['ab']);
  });
});

describe('isGlob', () => {
  test('wildcards, alternatives and classes make a glob; plain paths do not', () => {
    for (const pattern of ['*.py', 'src/**', '{a,b}', 'file?.txt', 'v[12]']) assert.ok(isGlob(pattern), pattern);
    for (const pattern of ['main.py', 'src/lib', '.', '/abs/path', 'custom_nodes']) assert.ok(!isGlob(pattern), pattern);
  });
});

describe('globBase', () => {
  test('the folder before the first wildcard segment', () => {
    assert.equal(globBase('src/**/*.py'), 'src');
    assert.equal(globBase('src/lib/*.ts'), 'src/lib');
    assert.equal(globBase('src/**'), 'src');
    assert.equal(globBase('/abs/path/**/*.log'), '/abs/path');
    assert.equal(globBase('a/{b,c}/d'), 'a');
  });

  test('a wildcard in the first segment watches the current folder', () => {
    assert.equal(globBase('*.py'), '.');
    assert.equal(globBase('**/*.log'), '.');
    assert.equal(globBase('{a,b}/x'), '.');
  });

  test('a plain path is its own base', () => {
    assert.equal(globBase('main.py'), 'main.py');
    assert.equal(globBase('src/lib'), 'src/lib');
  });
});

describe('matchesAny', () => {
  const pathPatterns = ['**/*.log', 'build/**'].map(globToRegExp);
  const namePatterns = ['node_modules', '*.pyc', '.git'].map(globToRegExp);

  test('patterns with a slash match the whole relative path', () => {
    assert.ok(matchesAny('a/b/app.log', pathPatterns, []));
    assert.ok(matchesAny('build/out/x.js', pathPatterns, []));
    assert.ok(!matchesAny('src/build/x.js', pathPatterns, []));
    assert.ok(!matchesAny('src/main.py', pathPatterns, []));
  });

  test('patterns without a slash match the last segment, at any depth', () => {
    assert.ok(matchesAny('node_modules', [], namePatterns));
    assert.ok(matchesAny('src/node_modules', [], namePatterns));
    assert.ok(matchesAny('a/b/c/mod.pyc', [], namePatterns));
    assert.ok(matchesAny('.git', [], namePatterns));
    assert.ok(!matchesAny('src/main.py', [], namePatterns));
    assert.ok(!matchesAny('src/node_modules_backup', [], namePatterns));
  });

  test('either list may match; empty lists match nothing', () => {
    assert.ok(matchesAny('x/app.log', pathPatterns, namePatterns));
    assert.ok(matchesAny('x/y.pyc', pathPatterns, namePatterns));
    assert.ok(!matchesAny('x/y.py', pathPatterns, namePatterns));
    assert.ok(!matchesAny('anything', [], []));
  });
});
