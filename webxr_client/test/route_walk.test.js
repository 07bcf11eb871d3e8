import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LEAD_M, RouteWalk, headingTo } from '../src/assistant/route_walk.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('the walk follows the corners at its speed and ends at the last point', () => {
  const walk = new RouteWalk([[0, 0], [0, -3], [4, -3]], 1);
  close(walk.length, 7);
  close(walk.seconds, 7);
  const at = walk.state(2);
  close(at.follower.x, 0); close(at.follower.z, -2);
  close(at.follower.heading, 0); // walking towards -Z: the way a view looks with no turn
  assert.equal(at.done, false);
  const turned = walk.state(4);
  close(turned.follower.x, 1); close(turned.follower.z, -3);
  close(turned.follower.heading, -Math.PI / 2); // towards +X: a right turn
  const end = walk.state(100);
  assert.equal(end.done, true);
  close(end.follower.x, 4); close(end.follower.z, -3);
});

test('the assistant leads by LEAD_M and waits at the end', () => {
  const walk = new RouteWalk([[0, 0], [10, 0]], 1.1);
  const s = walk.state(1);
  close(s.leader.x - s.follower.x, LEAD_M);
  const last = walk.state(walk.seconds - 0.1);
  close(last.leader.x, 10); // never past the end
});

test('a route of one point, bad points and a bad speed do not break the walk', () => {
  const walk = new RouteWalk([[2, 3], [Number.NaN, 1], null], -4);
  assert.equal(walk.length, 0);
  assert.equal(walk.state(0).done, true);
  close(walk.state(5).follower.x, 2);
  assert.throws(() => new RouteWalk([], 1));
});

test('headingTo agrees with the walk headings', () => {
  close(headingTo([0, 0], [0, -1]), 0);
  close(headingTo([0, 0], [-1, 0]), Math.PI / 2);
});
