// A minimal Colyseus 0.18 server with Plaza's pose workload, the reference side of `make bench-versus`.
//
// One room type, "pose": the state holds every avatar's head and two controllers (position + rotation,
// float32 each); a client sends its pose as a "pose" message (21 numbers: head, left, right, each
// px py pz qx qy qz qw), the room applies it and patches at 60 Hz, every avatar to every client.
//
//   node colyseus_server.mjs --port 2567
//
// Prints one line `listening <port>` on stdout when it accepts connections.
import { Room, Server } from "@colyseus/core";
import { schema, t } from "@colyseus/schema";
import { WebSocketTransport } from "@colyseus/ws-transport";

const Part = schema({
  px: t.float32(), py: t.float32(), pz: t.float32(),
  qx: t.float32(), qy: t.float32(), qz: t.float32(), qw: t.float32(),
}, "Part");

const Avatar = schema({ head: Part, left: Part, right: Part }, "Avatar");

const PoseState = schema({ avatars: t.map(Avatar) }, "PoseState");

const POSE_VALUES = 21;

function applyPart(part, v, o) {
  part.px = v[o]; part.py = v[o + 1]; part.pz = v[o + 2];
  part.qx = v[o + 3]; part.qy = v[o + 4]; part.qz = v[o + 5]; part.qw = v[o + 6];
}

class PoseRoom extends Room {
  onCreate() {
    this.state = new PoseState();
    this.maxClients = 2000;
    // 60 Hz patches (`setPatchRate(1000 / 60)` in older releases; 0.18 deprecates it for the property).
    this.patchRate = 1000 / 60;
    this.onMessage("pose", (client, values) => {
      // The same minimum a real room does: the right shape and finite numbers, else ignored.
      if (!Array.isArray(values) || values.length !== POSE_VALUES) return;
      for (let i = 0; i < POSE_VALUES; i++) {
        if (typeof values[i] !== "number" || !Number.isFinite(values[i])) return;
      }
      const avatar = this.state.avatars.get(client.sessionId);
      if (avatar === undefined) return;
      applyPart(avatar.head, values, 0);
      applyPart(avatar.left, values, 7);
      applyPart(avatar.right, values, 14);
    });
  }

  onJoin(client) {
    this.state.avatars.set(client.sessionId, new Avatar());
  }

  onLeave(client) {
    this.state.avatars.delete(client.sessionId);
  }
}

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(argValue("--port", "2567"));
const host = argValue("--host", "127.0.0.1");
const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define("pose", PoseRoom);
await server.listen(port, host);
process.stdout.write(`listening ${port}\n`);
