// Voice between group members: one WebRTC peer connection per pair, audio only, peer to peer (nothing passes
// through the server); the room websocket carries the offers and answers (`rtc`, docs/SOCIAL.md). The member
// with the smaller id offers. A muted microphone sends nothing: the track is taken off the sender
// (replaceTrack(null)), not merely silenced. A member the owner muted is silenced here too, whatever their
// page still sends.
import { makesOffer } from './social_state.js';

const GATHER_MS = 2500; // ICE candidates go inside the SDP (no trickle): few messages, no rate-limit trouble

export class Voice {
  /**
   * @param {object} o {send(message) -> Promise(reply) (a room control message), me() -> our member id,
   *   onChange() (redraw), log(text)}
   */
  constructor({ send, me, onChange = () => {}, log = () => {} }) {
    Object.assign(this, { send, me, onChange, log });
    this.peers = new Map(); // member -> {pc, sender, audio, remoteMuted}
    this.on = false; // in the call (microphone asked for, peers connected)
    this.muted = false; // our own mute toggle
    this.talking = false; // push-to-talk held (speaks even while muted)
    this.silencedByOwner = false;
    this.stream = null;
    this.track = null;
    this.error = null;
  }

  /** Whether our microphone reaches the others right now. */
  get sending() {
    return Boolean(this.on && this.track && !this.silencedByOwner && (!this.muted || this.talking));
  }

  /** Joins the call: the microphone (getUserMedia), `voice {on: true}`, then peers with everyone in it. */
  async start(members = []) {
    if (this.on) return true;
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true },
        video: false });
      [this.track] = this.stream.getAudioTracks();
      this.error = null;
    } catch (err) {
      this.error = `No microphone: ${err.message ?? err}. You can still listen and type.`;
      this.track = null;
    }
    this.on = true;
    await this.send({ t: 'voice', on: true });
    this.sync(members);
    this.onChange();
    return true;
  }

  /** Leaves the call: every peer gets `bye`, the microphone is released. */
  async stop() {
    if (!this.on) return;
    this.on = false;
    for (const member of [...this.peers.keys()]) this.close(member, true);
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.track = null;
    this.talking = false;
    await this.send({ t: 'voice', on: false });
    this.onChange();
  }

  setMuted(muted) {
    this.muted = Boolean(muted);
    this.applyTrack();
  }

  /** Push-to-talk (a held key or button): speaks while held, even with the mute on. */
  pushToTalk(down) {
    if (this.talking === Boolean(down)) return;
    this.talking = Boolean(down);
    this.applyTrack();
  }

  /** The owner muted (or unmuted) us: nothing is sent until they unmute. */
  setSilencedByOwner(muted) {
    this.silencedByOwner = Boolean(muted);
    this.applyTrack();
  }

  applyTrack() {
    const track = this.sending ? this.track : null;
    for (const peer of this.peers.values()) {
      if (peer.sender && peer.sender.track !== track) peer.sender.replaceTrack(track).catch((err) => this.log(`replaceTrack: ${err.message}`));
    }
    this.onChange();
  }

  /** After any change of the members: connect to the new ones in the call, drop the ones who left it. */
  sync(members) {
    const wanted = new Set(members.filter((m) => m.member !== this.me() && m.voice && m.presence !== 'away' && !m.blocked)
      .map((m) => m.member));
    for (const member of [...this.peers.keys()]) if (!this.on || !wanted.has(member)) this.close(member, this.on);
    if (!this.on) return;
    for (const member of wanted) {
      if (!this.peers.has(member) && makesOffer(this.me(), member)) this.offer(member);
    }
    for (const m of members) this.setRemoteMuted(m.member, Boolean(m.muted));
  }

  /** The connection to `member`; the offerer adds the audio transceiver, the answerer gets it from the offer. */
  peer(member, { offerer = true } = {}) {
    let peer = this.peers.get(member);
    if (peer) return peer;
    const pc = new RTCPeerConnection({ iceServers: [] });
    const transceiver = offerer ? pc.addTransceiver('audio', { direction: 'sendrecv' }) : null;
    const audio = document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.member = member;
    audio.hidden = true;
    document.body.append(audio);
    peer = { pc, transceiver, sender: transceiver?.sender ?? null, audio, remoteMuted: false, state: 'new' };
    pc.ontrack = (event) => {
      audio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      audio.muted = peer.remoteMuted;
      audio.play?.().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      peer.state = pc.connectionState;
      this.onChange();
    };
    this.peers.set(member, peer);
    return peer;
  }

  async offer(member) {
    const peer = this.peer(member);
    try {
      await peer.sender.replaceTrack(this.sending ? this.track : null);
      await peer.pc.setLocalDescription(await peer.pc.createOffer());
      await gathered(peer.pc);
      const d = peer.pc.localDescription;
      await this.send({ t: 'rtc', to: member, kind: 'offer', data: { type: d.type, sdp: d.sdp } });
    } catch (err) {
      this.log(`voice offer to ${member}: ${err.message}`);
    }
  }

  /** An `rtc` message {from, kind, data}. */
  async onSignal({ from, kind, data }) {
    if (!from) return;
    try {
      if (kind === 'bye') return this.close(from, false);
      if (!this.on) {
        if (kind === 'offer') await this.send({ t: 'rtc', to: from, kind: 'bye', data: 'not in the call' });
        return undefined;
      }
      if (kind === 'offer') {
        if (this.peers.has(from)) this.close(from, false); // a fresh offer: the old connection is over
        const peer = this.peer(from, { offerer: false });
        await peer.pc.setRemoteDescription(desc(data));
        // The offer's audio m-line made its transceiver: we answer and send on that one.
        const t = peer.pc.getTransceivers().find((x) => x.mid !== null && x.receiver.track?.kind === 'audio');
        if (!t) throw new Error('the offer has no audio');
        t.direction = 'sendrecv';
        peer.transceiver = t;
        peer.sender = t.sender;
        await peer.sender.replaceTrack(this.sending ? this.track : null);
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        await gathered(peer.pc);
        const d = peer.pc.localDescription;
        await this.send({ t: 'rtc', to: from, kind: 'answer', data: { type: d.type, sdp: d.sdp } });
      } else if (kind === 'answer') {
        const peer = this.peers.get(from);
        if (peer && peer.pc.signalingState === 'have-local-offer') await peer.pc.setRemoteDescription(desc(data));
      } else if (kind === 'ice') {
        const peer = this.peers.get(from);
        if (peer && data) await peer.pc.addIceCandidate(typeof data === 'string' ? JSON.parse(data) : data);
      }
    } catch (err) {
      this.log(`voice ${kind} from ${from}: ${err.message}`);
    }
    return undefined;
  }

  close(member, sayBye) {
    const peer = this.peers.get(member);
    if (!peer) return;
    this.peers.delete(member);
    peer.pc.close();
    peer.audio.srcObject = null;
    peer.audio.remove();
    if (sayBye) this.send({ t: 'rtc', to: member, kind: 'bye', data: 'left the call' });
    this.onChange();
  }

  /** A member the owner muted: their audio is silenced here, whatever arrives. */
  setRemoteMuted(member, muted) {
    const peer = this.peers.get(member);
    if (!peer) return;
    peer.remoteMuted = muted;
    peer.audio.muted = muted;
    if (peer.transceiver?.receiver.track) peer.transceiver.receiver.track.enabled = !muted;
  }

  closeAll() {
    for (const member of [...this.peers.keys()]) this.close(member, false);
  }

  /** Per peer: connection state and the audio byte counters (inbound-rtp / outbound-rtp), for tests. */
  async stats() {
    const out = {};
    for (const [member, peer] of this.peers) {
      const report = await peer.pc.getStats();
      let bytesReceived = 0;
      let bytesSent = 0;
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') bytesReceived += s.bytesReceived ?? 0;
        if (s.type === 'outbound-rtp' && s.kind === 'audio') bytesSent += s.bytesSent ?? 0;
      });
      out[member] = { state: peer.pc.connectionState, bytesReceived, bytesSent, sending: Boolean(peer.sender?.track),
        remoteMuted: peer.remoteMuted, audioMuted: peer.audio.muted };
    }
    return out;
  }
}

function desc(data) {
  const d = typeof data === 'string' ? JSON.parse(data) : data;
  return { type: d.type, sdp: d.sdp };
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    pc.addEventListener('icegatheringstatechange', check);
    setTimeout(done, GATHER_MS);
  });
}
