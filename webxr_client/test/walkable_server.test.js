// Client walkability vs the server's rule on a grid (cases made by tests/test_client_walkable.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WalkableArea } from '../src/walkable.js';

const path = process.env.PLAZA_WALKABLE_CASES;

test('client agrees with the server on every grid point of every scene',
  { skip: !path && 'run through pytest tests/test_client_walkable.py, which asks the server' }, () => {
    for (const { scene, points, walkable } of JSON.parse(readFileSync(path, 'utf8'))) {
      const area = WalkableArea.fromScene(scene);
      const wrong = points.filter(([x, z], i) => area.isWalkable(x, z) !== Boolean(walkable[i]));
      assert.deepEqual(wrong.slice(0, 10), [], `${scene.id}: ${wrong.length} of ${points.length} points disagree`);
    }
  });
