/** Idempotent tagged edits: our lines in, everything else byte for byte. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeBlock, replaceBlock, replaceTaggedLines } from '../../lib/boot/tagged.ts';
import { cronLines } from '../../lib/boot/cron.ts';
import { hookTarget } from '../../lib/boot/target.ts';

const ours = (line: string) => line.endsWith('# mine');

describe('replaceTaggedLines', () => {
  it('appends, then is unchanged the second time, then removes back to the original bytes', () => {
    const original = 'MAILTO=""\n# a comment\n0 1 * * *  echo  "x"\n';
    const added = replaceTaggedLines(original, ours, ['a # mine', 'b # mine']);
    assert.equal(added.text, `${original}a # mine\nb # mine\n`);
    assert.equal(replaceTaggedLines(added.text, ours, ['a # mine', 'b # mine']).changed, false);
    const removed = replaceTaggedLines(added.text, ours, []);
    assert.equal(removed.text, original);
    assert.deepEqual(removed.removed, ['a # mine', 'b # mine']);
  });
  it('replaces changed lines in place and leaves other tags alone', () => {
    const text = 'x\nold # mine\ny # theirs\n';
    assert.equal(replaceTaggedLines(text, ours, ['new # mine']).text, 'x\nnew # mine\ny # theirs\n');
  });
  it('adds the final newline a text without one needs before appending', () => {
    assert.equal(replaceTaggedLines('x', ours, ['a # mine']).text, 'x\na # mine\n');
    assert.equal(replaceTaggedLines('', ours, []).text, '');
  });
});

describe('blocks', () => {
  const block = ['# >>> tag >>>', 'code()', '# <<< tag <<<'];
  it('append, unchanged, replace, remove', () => {
    const original = 'c = get_config()\nc.X = 1\n';
    const added = replaceBlock(original, 'tag', block);
    assert.equal(added.text, `${original}${block.join('\n')}\n`);
    assert.equal(replaceBlock(added.text, 'tag', block).changed, false);
    const replaced = replaceBlock(added.text, 'tag', ['# >>> tag >>>', 'other()', '# <<< tag <<<']);
    assert.match(replaced.text, /other\(\)/);
    assert.doesNotMatch(replaced.text, /code\(\)/);
    assert.equal(removeBlock(replaced.text, 'tag').text, original);
    assert.equal(removeBlock(original, 'tag').changed, false);
  });
});

describe('cron lines', () => {
  it('escape % (cron would cut the command there) and use absolute paths', () => {
    const target = hookTarget('/srv/50%/restart-control.yaml');
    const lines = cronLines(target);
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.startsWith('@reboot mkdir -p \'/srv/50\\%/.restart-control\' && NODE='));
    assert.ok(lines[1]!.startsWith('*/5 * * * * '));
    for (const line of lines) {
      assert.doesNotMatch(line, /[^\\]%/);
      assert.ok(line.endsWith(' # restart-control: /srv/50\\%/restart-control.yaml'));
      assert.match(line, /'\/[^']+\/run\.ts' --config '\/srv\/50\\%\/restart-control\.yaml' --detach >> '\/srv\/50\\%\/\.restart-control\/hook\.log' 2>&1/);
    }
  });
});
