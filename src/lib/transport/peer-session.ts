/**
 * Peer session: before anything flows between two devices, a Noise_XXpsk3_25519_ChaChaPoly_SHA256
 * handshake (../crypto/noise.ts) proves that each end holds a device key and the key epoch's
 * pre-shared key; then each end introduces itself with the account's signed statements, and the
 * admission policy decides whether the proven key belongs to a device it may talk to. The frames
 * are in ../protocol/session.ts.
 *
 * prologue = "samen/v1/session" ‖ room id, so a session cannot be moved to another room; the psk is
 * derived from the epoch secret. The initiator is the end that opened the channel (Transport).
 * Forward secrecy comes from the ephemeral keys: a device key or epoch secret that leaks later
 * opens no recorded session. An echo or a cross-wired pair of keyless peers never completes the
 * handshake. Counters are per direction and never reused; a repeated counter or one far behind is
 * refused (the window allows the reordering of the in-memory test network). A handshake message
 * seen before is ignored (a network may duplicate it).
 *
 * Limits: before the handshake completes at most MAX_EARLY_FRAMES frames and MAX_EARLY_BYTES bytes
 * wait per peer, and before its introduction at most 4,096 frames and 4 MiB; past either the peer
 * is refused. A peer that fails the handshake or is not admitted is refused for the life of its
 * channel.
 */
import { NoiseHandshake, NOISE_XXPSK3 } from '../crypto/noise';
import { constantTimeEqual, type KeyPair } from '../crypto';
import {
	FRAME_HANDSHAKE,
	KIND_APPLICATION,
	KIND_INTRODUCTION,
	openDataFrame,
	readSessionFrame,
	SessionFrameError,
	writeDataFrame,
	writeHandshakeFrame
} from '../protocol/session';
import { Emitter } from '../util/emitter';
import type { PeerId, Transport } from './types';

export const MAX_EARLY_FRAMES = 8;
export const MAX_EARLY_BYTES = 16 * 1024;
/** Application frames from a peer that proved its keys but whose introduction has not arrived yet. */
const MAX_UNADMITTED_FRAMES = 4096;
const MAX_UNADMITTED_BYTES = 4 * 1024 * 1024;
const REPLAY_WINDOW = 4096;

/** A peer whose device key the admission policy accepted. */

export interface VerifiedPeer {
	peer: PeerId;
	account: string;
	device: string;
}

export interface SessionPolicy {
	/** This device's X25519 key pair: its Noise static key. */
	readonly staticKeys: KeyPair;
	readonly psk: Uint8Array;
	readonly prologue: Uint8Array;
	/** What this device says about its account, sent first and again after `reintroduce`. */
	introduction(): Uint8Array;
	/**
	 * Weighs a peer's introduction (it may carry newer signed statements to adopt) and says who the
	 * peer is, or undefined to refuse it. Called after the handshake and for each later introduction.
	 */
	admit(peer: PeerId, remoteStaticKey: Uint8Array, introduction: Uint8Array): Omit<VerifiedPeer, 'peer'> | undefined;
}

export type SecureChannelEvents = {
	authenticated: VerifiedPeer;
	closed: PeerId;
	message: { peer: PeerId; data: Uint8Array };
	/** A peer that failed the handshake or was not admitted; its frames are dropped from now on. */
	refused: { peer: PeerId; reason: string };
};

interface PeerState {
	handshake?: NoiseHandshake;
	sendKey?: Uint8Array;
	receiveKey?: Uint8Array;
	remoteStaticKey?: Uint8Array;
	nextCounter: bigint;
	highestReceived: bigint;
	seen: Set<bigint>;
	verified?: VerifiedPeer;
	refused: boolean;
	/** Handshake messages read so far: a network that duplicates may hand one over again. */
	handshakeSeen: Uint8Array[];
	early: Uint8Array[];
	earlyBytes: number;
	unadmitted: Uint8Array[];
	unadmittedBytes: number;
}

export class SecureChannel extends Emitter<SecureChannelEvents> {
	private readonly peerStates = new Map<PeerId, PeerState>();
	private readonly unsubscribe: (() => void)[];
	/** Frames dropped because they were malformed, failed to open, or came from a refused peer. */
	rejectedFrames = 0;

	constructor(
		readonly transport: Transport,
		private readonly policy: SessionPolicy
	) {
		super();
		this.unsubscribe = [
			transport.on('peer-connected', (peer) => this.greet(peer)),
			transport.on('peer-disconnected', (peer) => this.forget(peer)),
			transport.on('message', ({ peer, data }) => this.receive(peer, data))
		];
		for (const peer of transport.peers) this.greet(peer);
	}

	get authenticatedPeers(): VerifiedPeer[] {
		const peers: VerifiedPeer[] = [];
		for (const state of this.peerStates.values()) if (state.verified && !state.refused) peers.push(state.verified);
		return peers;
	}

	send(peer: PeerId, payload: Uint8Array): void {
		const state = this.peerStates.get(peer);
		if (!state?.verified || state.refused) return;
		this.sendData(peer, state, KIND_APPLICATION, payload);
	}

	/** Sends this device's introduction again to every peer past the handshake (it changed). */
	reintroduce(): void {
		const introduction = this.policy.introduction();
		for (const [peer, state] of this.peerStates) {
			if (state.sendKey && !state.refused) this.sendData(peer, state, KIND_INTRODUCTION, introduction);
		}
	}

	close(): void {
		for (const stop of this.unsubscribe) stop();
		for (const peer of [...this.peerStates.keys()]) this.forget(peer);
	}

	private greet(peer: PeerId): void {
		if (this.peerStates.has(peer)) return;
		const state: PeerState = {
			nextCounter: 0n,
			highestReceived: -1n,
			seen: new Set(),
			refused: false,
			handshakeSeen: [],
			early: [],
			earlyBytes: 0,
			unadmitted: [],
			unadmittedBytes: 0
		};
		this.peerStates.set(peer, state);
		const initiator = this.transport.isInitiator(peer);
		state.handshake = new NoiseHandshake({
			protocol: NOISE_XXPSK3,
			initiator,
			staticKeys: this.policy.staticKeys,
			psk: this.policy.psk,
			prologue: this.policy.prologue
		});
		if (initiator) this.transport.send(peer, writeHandshakeFrame(state.handshake.writeMessage()));
	}

	private forget(peer: PeerId): void {
		const state = this.peerStates.get(peer);
		if (!state) return;
		this.peerStates.delete(peer);
		if (state.verified && !state.refused) this.emit('closed', peer);
	}

	private refuse(peer: PeerId, state: PeerState, reason: string): void {
		if (state.refused) return;
		const wasVerified = !!state.verified;
		state.refused = true;
		state.early = [];
		state.unadmitted = [];
		state.handshake = undefined;
		this.emit('refused', { peer, reason });
		if (wasVerified) this.emit('closed', peer);
	}

	private receive(peer: PeerId, data: Uint8Array): void {
		const state = this.peerStates.get(peer);
		if (!state || state.refused) {
			this.rejectedFrames++;
			return;
		}
		try {
			const frame = readSessionFrame(data);
			if (frame.type === FRAME_HANDSHAKE) this.receiveHandshake(peer, state, frame.message);
			else this.receiveData(peer, state, data, frame);
		} catch (error) {
			// Whatever a peer sends cannot break this device: the frame is dropped and counted, and a
			// peer that broke its handshake is refused (its keys can no longer be trusted).
			this.rejectedFrames++;
			if (!state.sendKey) this.refuse(peer, state, (error as Error).message);
		}
	}

	private receiveHandshake(peer: PeerId, state: PeerState, message: Uint8Array): void {
		if (state.handshakeSeen.some((seen) => constantTimeEqual(seen, message))) return;
		const handshake = state.handshake;
		if (!handshake || state.sendKey) throw new SessionFrameError('handshake message after the handshake');
		handshake.readMessage(message);
		state.handshakeSeen.push(message.slice());
		if (!handshake.complete) this.transport.send(peer, writeHandshakeFrame(handshake.writeMessage()));
		if (!handshake.complete) return;
		const keys = handshake.transportKeys();
		state.sendKey = keys.sendKey;
		state.receiveKey = keys.receiveKey;
		state.remoteStaticKey = handshake.remoteStaticKey;
		state.handshake = undefined;
		this.sendData(peer, state, KIND_INTRODUCTION, this.policy.introduction());
		for (const early of state.early.splice(0)) this.receive(peer, early);
		state.earlyBytes = 0;
	}

	private receiveData(peer: PeerId, state: PeerState, data: Uint8Array, frame: { counter: bigint; sealed: Uint8Array }): void {
		if (!state.receiveKey) {
			// The handshake's last message may be overtaken on a reordering network; a few frames wait.
			if (state.early.length >= MAX_EARLY_FRAMES || state.earlyBytes + data.length > MAX_EARLY_BYTES) {
				this.refuse(peer, state, 'too much before the handshake');
				return;
			}
			state.early.push(data);
			state.earlyBytes += data.length;
			return;
		}
		const counter = frame.counter;
		if (counter + BigInt(REPLAY_WINDOW) <= state.highestReceived || state.seen.has(counter)) {
			throw new SessionFrameError('replayed or stale frame');
		}
		const { kind, body } = openDataFrame(state.receiveKey, frame);
		this.markSeen(state, counter);
		if (kind === KIND_INTRODUCTION) return this.receiveIntroduction(peer, state, body);
		if (state.verified) {
			this.emit('message', { peer, data: body });
		} else if (state.unadmitted.length < MAX_UNADMITTED_FRAMES && state.unadmittedBytes + body.length <= MAX_UNADMITTED_BYTES) {
			// Overtook the peer's introduction on a reordering network.
			state.unadmitted.push(body);
			state.unadmittedBytes += body.length;
		} else {
			this.refuse(peer, state, 'too much before its introduction');
		}
	}

	private receiveIntroduction(peer: PeerId, state: PeerState, introduction: Uint8Array): void {
		const admitted = this.policy.admit(peer, state.remoteStaticKey!, introduction);
		if (!admitted) {
			this.refuse(peer, state, 'not a device of the account');
			return;
		}
		const first = !state.verified;
		state.verified = { peer, ...admitted };
		if (!first) return;
		this.emit('authenticated', state.verified);
		for (const body of state.unadmitted.splice(0)) this.emit('message', { peer, data: body });
	}

	private markSeen(state: PeerState, counter: bigint): void {
		state.seen.add(counter);
		if (counter > state.highestReceived) state.highestReceived = counter;
		if (state.seen.size > 2 * REPLAY_WINDOW) {
			const floor = state.highestReceived - BigInt(REPLAY_WINDOW);
			for (const old of state.seen) if (old <= floor) state.seen.delete(old);
		}
	}

	private sendData(peer: PeerId, state: PeerState, kind: number, body: Uint8Array): void {
		if (!state.sendKey) return;
		this.transport.send(peer, writeDataFrame(state.sendKey, state.nextCounter++, kind, body));
	}
}
