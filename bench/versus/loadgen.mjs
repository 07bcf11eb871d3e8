// One lean load generator for both sides of `make bench-versus`: N clients in one room, each uploading
// head + two controllers at 60 Hz with every value jittered every tick, counting the snapshots it gets.
//
//   node loadgen.mjs --target plaza    --url http://127.0.0.1:8000 --clients 100 --token OPERATOR_TOKEN
//   node loadgen.mjs --target colyseus --url http://127.0.0.1:2567 --clients 100
//
// Plaza: protocol v2 (docs/PROTOCOL.md). A fresh `interest: "all"` room is created with the operator
// token, every client reserves a seat over HTTP with it (so per-address limits do not refuse hundreds of
// joins from one address), opens /ws?v=2&room=ID, sends {"t": "auth"}, then binary pose uploads (kind
// 0x01) whose ack field carries the newest snapshot tick received. Snapshots (kind 0x02) are read only
// as far as the 11-byte frame header (the tick); nothing is decoded beyond it.
// Colyseus: the matchmaker's HTTP seat reservation, the websocket, the JOIN_ROOM handshake, then a
// "pose" room message (msgpack array of 21 numbers, what `room.send("pose", values)` sends) per tick.
// State patches (ROOM_STATE_PATCH) are counted, never decoded.
//
// Latency: a sample of clients sends an application-level ping on the same websocket, one at a time,
// every 200 ms, behind the pose traffic: Plaza's `{"t": "ping"}` control message answered by `pong`,
// Colyseus' PING protocol byte echoed by the room. Reported as round-trip percentiles (ms). The same
// sample clients also record the gaps between consecutive snapshots.
//
// Output: JSON lines on stdout. {"event": "connected"} once every client is in, {"event": "start"}
// when the measured window opens (after --warmup seconds), {"event": "end", ...} with the counts of the
// window, including this process's own CPU (process.cpuUsage) and event-loop delay.
import { performance, monitorEventLoopDelay } from "node:perf_hooks";
import { pack, unpack } from "msgpackr";
import WebSocket from "ws";

const TICK_HZ = 60;
const GROUPS = 4; // uploads are spread over four phases of the 16.7 ms tick, as independent clients would be
const PING_EVERY_MS = 200;
const CONNECT_CONCURRENCY = 16;
const POSE_FLOATS = 21;

// ---------------------------------------------------------------------------------------------- args
function parseArgs(argv) {
  const args = {
    target: null, url: null, clients: 50, warmup: 5, seconds: 20, token: process.env.PLAZA_OPERATOR_TOKEN || null,
    pingSample: 0, room: null, seed: 1,
  };
  for (let i = 2; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    switch (key) {
      case "--target": args.target = value; i++; break;
      case "--url": args.url = value.replace(/\/$/, ""); i++; break;
      case "--clients": args.clients = Number(value); i++; break;
      case "--warmup": args.warmup = Number(value); i++; break;
      case "--seconds": args.seconds = Number(value); i++; break;
      case "--token": args.token = value; i++; break;
      case "--ping-sample": args.pingSample = Number(value); i++; break;
      case "--room": args.room = value; i++; break;
      case "--seed": args.seed = Number(value); i++; break;
      default: fail(`unknown argument ${key}`);
    }
  }
  if (args.target !== "plaza" && args.target !== "colyseus") fail("--target plaza|colyseus is required");
  if (!args.url) fail("--url is required");
  if (!(args.clients >= 1)) fail("--clients must be >= 1");
  if (!args.pingSample) args.pingSample = Math.min(args.clients, Math.max(5, Math.round(args.clients / 10)));
  return args;
}

function fail(message) {
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(2);
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// ------------------------------------------------------------------------------------------- motion
// A small deterministic PRNG so both servers see the same kind of motion (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Every value jittered every tick around a fixed standing pose: positions by up to +-2 cm, quaternion
// components by up to +-0.02 before normalising (about +-2 degrees).
const POS_JITTER = 0.02;
const ROT_JITTER = 0.02;
const BASE_OFFSETS = [
  [0, 1.6, 0, 0, 0, 0, 1], // head, above the spawn point
  [-0.2, 1.2, -0.3, -0.34202, 0, 0, 0.939693], // left controller
  [0.25, 1.25, -0.35, -0.212631, -0.212631, 0, 0.953717], // right controller
];

function jitterPose(out, base, random) {
  for (let p = 0; p < 3; p++) {
    const o = p * 7;
    const b = BASE_OFFSETS[p];
    out[o] = base[0] + b[0] + (random() * 2 - 1) * POS_JITTER;
    out[o + 1] = base[1] + b[1] + (random() * 2 - 1) * POS_JITTER;
    out[o + 2] = base[2] + b[2] + (random() * 2 - 1) * POS_JITTER;
    let qx = b[3] + (random() * 2 - 1) * ROT_JITTER;
    let qy = b[4] + (random() * 2 - 1) * ROT_JITTER;
    let qz = b[5] + (random() * 2 - 1) * ROT_JITTER;
    let qw = b[6] + (random() * 2 - 1) * ROT_JITTER;
    const n = 1 / Math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw);
    out[o + 3] = qx * n; out[o + 4] = qy * n; out[o + 5] = qz * n; out[o + 6] = qw * n;
  }
}

// ------------------------------------------------------------------------------------------- client
class Client {
  constructor(index, random, sampled) {
    this.index = index;
    this.random = random;
    this.sampled = sampled;
    this.ws = null;
    this.ready = false;
    this.closed = false;
    this.closeInfo = null;
    this.base = [0, 0, 0];
    this.pose = new Float64Array(POSE_FLOATS);
    this.snapshots = 0;
    this.bytes = 0;
    this.fullStates = 0;
    this.newestTick = 0;
    this.seq = 0;
    this.pingSentAt = 0;
    this.nextPingAt = 0;
    this.lastSnapshotAt = 0;
    this.errors = {};
  }
}

class Stats {
  constructor() { this.reset(); }
  reset() {
    this.rtts = [];
    this.gaps = [];
    this.uploads = 0;
    this.uploadSlotsMissed = 0;
  }
}

const stats = new Stats();
let measuring = false;

function onSnapshot(client, bytes, now) {
  client.snapshots++;
  client.bytes += bytes;
  if (client.sampled) {
    if (measuring && client.lastSnapshotAt) stats.gaps.push(now - client.lastSnapshotAt);
    client.lastSnapshotAt = now;
  }
}

function onPong(client, now) {
  if (client.pingSentAt) {
    if (measuring) stats.rtts.push(now - client.pingSentAt);
    client.pingSentAt = 0;
  }
}

// -------------------------------------------------------------------------------------------- Plaza
const PLAZA_UPLOAD_BYTES = 8 + POSE_FLOATS * 4;
const PLAZA_PING = pack({ t: "ping" });
const PLAZA_LEAVE = pack({ t: "leave" });

async function httpJson(method, url, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data;
  try { data = JSON.parse(text); } catch { data = text; }
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return data;
}

async function plazaRoom(args) {
  if (args.room) return args.room;
  const room = await httpJson("POST", `${args.url}/api/rooms`, {
    name: `versus ${args.clients}`, capacity: args.clients + 5, interest: "all",
  }, args.token);
  return room.id;
}

async function plazaConnect(args, roomId, client) {
  const seat = await httpJson("POST", `${args.url}/api/rooms/${encodeURIComponent(roomId)}/join`,
    { name: `bot ${client.index}` }, args.token);
  const wsUrl = args.url.replace(/^http/, "ws") + seat.ws_url;
  const upload = Buffer.alloc(PLAZA_UPLOAD_BYTES);
  upload[0] = 0x01;
  upload[1] = 0x07; // head + left controller + right controller
  client.upload = upload;
  await new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    client.ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("open", () => ws.send(pack({ t: "auth", token: seat.token })));
    ws.on("message", (data) => {
      if (data[0] === 0x02) {
        const tick = data.readUInt32LE(2);
        if (tick > client.newestTick) client.newestTick = tick;
        onSnapshot(client, data.length, performance.now());
        return;
      }
      let message;
      try { message = unpack(data); } catch { return; }
      if (message.t === "pong") {
        onPong(client, performance.now());
      } else if (message.t === "welcome") {
        const spawn = message.spawn || [0, 0, 0];
        client.base = [spawn[0], spawn[1], spawn[2]];
        client.ready = true;
        resolve();
      } else if (message.t === "error") {
        client.errors[message.code] = (client.errors[message.code] || 0) + 1;
      }
    });
    ws.on("error", (err) => { if (!client.ready) reject(err); });
    ws.on("close", (code, reason) => {
      client.closed = true;
      client.closeInfo = `${code} ${reason}`;
      if (!client.ready) reject(new Error(`closed before welcome: ${code} ${reason}`));
    });
  });
}

function plazaSend(client) {
  jitterPose(client.pose, client.base, client.random);
  const buf = client.upload;
  client.seq = (client.seq + 1) & 0xffff;
  buf.writeUInt16LE(client.seq, 2);
  buf.writeUInt32LE(client.newestTick >>> 0, 4);
  for (let i = 0; i < POSE_FLOATS; i++) buf.writeFloatLE(client.pose[i], 8 + i * 4);
  client.ws.send(buf);
}

function plazaPing(client) { client.ws.send(PLAZA_PING); }
function plazaLeave(client) { client.ws.send(PLAZA_LEAVE); }

// ----------------------------------------------------------------------------------------- Colyseus
const C_JOIN_ROOM = 10;
const C_ERROR = 11;
const C_LEAVE_ROOM = 12;
const C_ROOM_DATA = 13;
const C_ROOM_STATE = 14;
const C_ROOM_STATE_PATCH = 15;
const C_PING = 18;
const C_CODE_MASK = 0x1f;
// ROOM_DATA, the message type "pose" as a msgpack fixstr, then a msgpack array16 of 21 float64
// (msgpackr's default for non-integer numbers): byte for byte what the SDK's room.send() produces.
const COLYSEUS_TYPE = Buffer.from([C_ROOM_DATA, 0xa4, 0x70, 0x6f, 0x73, 0x65]); // "pose"
const COLYSEUS_UPLOAD_BYTES = COLYSEUS_TYPE.length + 3 + POSE_FLOATS * 9;
const COLYSEUS_PING = Buffer.from([C_PING]);

async function colyseusReserve(args, method, target, client) {
  return httpJson("POST", `${args.url}/matchmake/${method}/${target}`, { name: `bot ${client.index}` });
}

async function colyseusConnect(args, seat, client) {
  const upload = Buffer.alloc(COLYSEUS_UPLOAD_BYTES);
  COLYSEUS_TYPE.copy(upload, 0);
  upload[COLYSEUS_TYPE.length] = 0xdc;
  upload.writeUInt16BE(POSE_FLOATS, COLYSEUS_TYPE.length + 1);
  for (let i = 0; i < POSE_FLOATS; i++) upload[COLYSEUS_TYPE.length + 3 + i * 9] = 0xcb;
  client.upload = upload;
  const wsUrl = `${args.url.replace(/^http/, "ws")}/${seat.processId}/${seat.roomId}?sessionId=${seat.sessionId}`;
  await new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    client.ws = ws;
    ws.binaryType = "nodebuffer";
    ws.on("message", (data) => {
      const code = data[0] & C_CODE_MASK;
      if (code === C_ROOM_STATE_PATCH) {
        onSnapshot(client, data.length, performance.now());
      } else if (code === C_PING) {
        onPong(client, performance.now());
      } else if (code === C_ROOM_STATE) {
        client.fullStates++;
      } else if (code === C_JOIN_ROOM) {
        ws.send(Buffer.from([C_JOIN_ROOM])); // acknowledge the handshake: the room then sends its state
        client.ready = true;
        resolve();
      } else if (code === C_ERROR) {
        client.errors.colyseus_error = (client.errors.colyseus_error || 0) + 1;
      }
    });
    ws.on("error", (err) => { if (!client.ready) reject(err); });
    ws.on("close", (code, reason) => {
      client.closed = true;
      client.closeInfo = `${code} ${reason}`;
      if (!client.ready) reject(new Error(`closed before joining: ${code} ${reason}`));
    });
  });
}

function colyseusSend(client) {
  jitterPose(client.pose, [0, 0, 0], client.random);
  const buf = client.upload;
  const o = COLYSEUS_TYPE.length + 3;
  for (let i = 0; i < POSE_FLOATS; i++) buf.writeDoubleBE(client.pose[i], o + i * 9 + 1);
  client.ws.send(buf);
}

function colyseusPing(client) { client.ws.send(COLYSEUS_PING); }
function colyseusLeave(client) { client.ws.send(Buffer.from([C_LEAVE_ROOM])); }

// --------------------------------------------------------------------------------------------- main
function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function round(v, digits = 3) {
  return v === null || v === undefined ? null : Number(v.toFixed(digits));
}

async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const args = parseArgs(process.argv);
  const plaza = args.target === "plaza";
  const clients = [];
  const sampleEvery = args.clients / args.pingSample;
  for (let i = 0; i < args.clients; i++) {
    const sampled = Math.floor(i % sampleEvery) === 0 && clients.filter((c) => c.sampled).length < args.pingSample;
    clients.push(new Client(i, rng(args.seed * 100003 + i), sampled));
  }
  const send = plaza ? plazaSend : colyseusSend;
  const ping = plaza ? plazaPing : colyseusPing;

  // The upload clock: GROUPS phases per tick, each phase sends for its share of the clients that are in.
  const period = 1000 / (TICK_HZ * GROUPS);
  let step = 0;
  let running = true;
  const t0 = performance.now();
  const loop = () => {
    if (!running) return;
    const now = performance.now();
    const due = Math.floor((now - t0) / period);
    // Late phases are caught up (each client still sends once per tick) as long as the lag stays under
    // one tick; beyond that the missed ones are skipped (no bursts), and counted.
    if (due - step > GROUPS) {
      if (measuring) stats.uploadSlotsMissed += due - step - GROUPS;
      step = due - GROUPS;
    }
    const group = step % GROUPS;
    for (let i = group; i < clients.length; i += GROUPS) {
      const c = clients[i];
      if (!c.ready || c.closed) continue;
      send(c);
      if (measuring) stats.uploads++;
      if (c.sampled && !c.pingSentAt && now >= c.nextPingAt) {
        c.pingSentAt = now;
        c.nextPingAt = now + PING_EVERY_MS;
        ping(c);
      }
    }
    step++;
    if (step < due) { setImmediate(loop); return; }
    setTimeout(loop, Math.max(0, t0 + step * period - performance.now()));
  };
  loop();

  // Connect everyone (each client starts uploading, and so acking, as soon as it is in).
  const connectStart = performance.now();
  if (plaza) {
    if (!args.token) fail("Plaza needs the operator token (--token or PLAZA_OPERATOR_TOKEN)");
    const roomId = await plazaRoom(args);
    await pool(clients, CONNECT_CONCURRENCY, (c) => plazaConnect(args, roomId, c));
  } else {
    const first = await colyseusReserve(args, "create", "pose", clients[0]);
    await colyseusConnect(args, first, clients[0]);
    await pool(clients.slice(1), CONNECT_CONCURRENCY, async (c) => {
      const seat = await colyseusReserve(args, "joinById", first.roomId, c);
      await colyseusConnect(args, seat, c);
    });
  }
  emit({ event: "connected", clients: clients.length, connect_s: round((performance.now() - connectStart) / 1000) });

  await sleep(args.warmup * 1000);

  // The measured window.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  for (const c of clients) { c.snapshots = 0; c.bytes = 0; c.lastSnapshotAt = 0; }
  stats.reset();
  measuring = true;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  loopDelay.enable();
  emit({ event: "start" });
  await sleep(args.seconds * 1000);
  measuring = false;
  const wall = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loopDelay.disable();
  const perClient = clients.map((c) => ({ snapshots: c.snapshots, bytes: c.bytes }));
  // Emit before anything else so the runner's /proc reading closes the window as this one did.
  const hz = perClient.map((c) => c.snapshots / wall).sort((a, b) => a - b);
  const snapshots = perClient.reduce((s, c) => s + c.snapshots, 0);
  const bytes = perClient.reduce((s, c) => s + c.bytes, 0);
  const rtts = stats.rtts.sort((a, b) => a - b);
  const gaps = stats.gaps.sort((a, b) => a - b);
  const errors = {};
  for (const c of clients) for (const [k, v] of Object.entries(c.errors)) errors[k] = (errors[k] || 0) + v;
  emit({
    event: "end",
    target: args.target,
    clients: clients.length,
    window_s: round(wall),
    snapshots,
    snapshot_bytes: bytes,
    bytes_per_snapshot: snapshots ? round(bytes / snapshots, 1) : null,
    bytes_per_avatar_per_tick: snapshots ? round(bytes / snapshots / clients.length, 2) : null,
    receive_hz: { mean: round(snapshots / wall / clients.length, 2), p5: round(percentile(hz, 0.05), 2),
                  p50: round(percentile(hz, 0.5), 2), min: round(hz[0], 2) },
    uploads: stats.uploads,
    upload_hz: round(stats.uploads / wall / clients.length, 2),
    upload_slots_missed: stats.uploadSlotsMissed,
    upload_bytes: plaza ? PLAZA_UPLOAD_BYTES : COLYSEUS_UPLOAD_BYTES,
    latency: "round trip of an application ping on the same websocket, behind the pose traffic (ms)",
    rtt_ms: { n: rtts.length, p50: round(percentile(rtts, 0.5)), p99: round(percentile(rtts, 0.99)),
              max: round(rtts[rtts.length - 1] ?? null) },
    snapshot_gap_ms: { n: gaps.length, p50: round(percentile(gaps, 0.5)), p99: round(percentile(gaps, 0.99)),
                       max: round(gaps[gaps.length - 1] ?? null) },
    generator_cpu: { user_s: round(cpu.user / 1e6), system_s: round(cpu.system / 1e6),
                     share: round((cpu.user + cpu.system) / 1e6 / wall) },
    generator_loop_delay_ms: { p50: round(loopDelay.percentile(50) / 1e6), p99: round(loopDelay.percentile(99) / 1e6),
                               max: round(loopDelay.max / 1e6) },
    disconnects: clients.filter((c) => c.closed).length,
    close_reasons: [...new Set(clients.filter((c) => c.closed).map((c) => c.closeInfo))].slice(0, 5),
    errors,
  });

  running = false;
  for (const c of clients) {
    if (c.ws && c.ready && !c.closed) {
      try { (plaza ? plazaLeave : colyseusLeave)(c); } catch { /* closing anyway */ }
    }
  }
  await sleep(300);
  for (const c of clients) if (c.ws) c.ws.terminate();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`loadgen: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
