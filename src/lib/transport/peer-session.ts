/**
 * Peer session protocol: before any data flows, both ends of a channel prove that they hold the
 * account's sync key for the same key epoch; after that every frame is sealed.
 *
 *   each side, on a new channel    HELLO  [0x01][version=1][epoch: varuint][nonce: 32 bytes]   (clear)
 *   each side, once it has both    PROOF  [0x02][seal(sendKey, "samen/v1/proof")]
 *   after the peer's PROOF opened  DATA   [0x03][seal(sendKey, payload)]
 *
 *   sendKey = HKDF(syncKey, "samen/v1/session", salt = ownNonce ‖ peerNonce)
 *   recvKey = HKDF(syncKey, "samen/v1/session", salt = peerNonce ‖ ownNonce)
 *
 * Fresh nonces from both sides make every session's keys new, so a recorded session cannot be
 * replayed into another, and separate keys per direction stop a frame being reflected back.
 * A peer on another epoch or without the key never gets a PROOF to open: it stays unauthenticated
 * and receives nothing. A frame that is malformed or fails to open is dropped and counted; the
 * channel stays up. Frames that arrive before the keys exist (a reordering transport) wait, bounded.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { concatBytes, constantTimeEqual, deriveKey, open, randomBytes, seal } from '../crypto';
import { Emitter } from '../util/emitter';
import type { PeerId, Transport } from './types';

export const SESSION_VERSION = 1;
export const FRAME_HELLO = 1;
export const FRAME_PROOF = 2;
export const FRAME_DATA = 3;
const NONCE_LENGTH = 32;
const PROOF_TEXT = new TextEncoder().encode('samen/v1/proof');
const MAX_EARLY_FRAMES = 256;

export interface SessionKey {
	epoch: number;
	syncKey: Uint8Array;
}

export type SecureChannelEvents = {
	authenticated: PeerId;
	closed: PeerId;
	message: { peer: PeerId; data: Uint8Array };
};

interface PeerState {
	ownNonce: Uint8Array;
	sendKey?: Uint8Array;
	recvKey?: Uint8Array;
	authenticated: boolean;
	early: Uint8Array[];
}

export class SecureChannel extends Emitter<SecureChannelEvents> {
	private readonly peerStates = new Map<PeerId, PeerState>();
	private readonly unsubscribe: (() => void)[];
	/** Frames dropped because they were malformed, failed to open or came from the wrong epoch. */
	rejectedFrames = 0;

	constructor(
		readonly transport: Transport,
		private readonly key: SessionKey
	) {
		super();
		this.unsubscribe = [
			transport.on('peer-connected', (peer) => this.greet(peer)),
			transport.on('peer-disconnected', (peer) => this.forget(peer)),
			transport.on('message', ({ peer, data }) => this.receive(peer, data))
		];
		for (const peer of transport.peers) this.greet(peer);
	}

	get authenticatedPeers(): PeerId[] {
		return [...this.peerStates].filter(([, state]) => state.authenticated).map(([peer]) => peer);
	}

	send(peer: PeerId, payload: Uint8Array): void {
		const state = this.peerStates.get(peer);
		if (!state?.authenticated || !state.sendKey) return;
		this.transport.send(peer, frame(FRAME_DATA, seal(state.sendKey, payload)));
	}

	close(): void {
		for (const stop of this.unsubscribe) stop();
		for (const peer of [...this.peerStates.keys()]) this.forget(peer);
	}

	private greet(peer: PeerId): void {
		if (this.peerStates.has(peer)) return;
		const ownNonce = randomBytes(NONCE_LENGTH);
		this.peerStates.set(peer, { ownNonce, authenticated: false, early: [] });
		const encoder = encoding.createEncoder();
		encoding.writeUint8(encoder, FRAME_HELLO);
		encoding.writeUint8(encoder, SESSION_VERSION);
		encoding.writeVarUint(encoder, this.key.epoch);
		encoding.writeUint8Array(encoder, ownNonce);
		this.transport.send(peer, encoding.toUint8Array(encoder));
	}

	private forget(peer: PeerId): void {
		const state = this.peerStates.get(peer);
		if (!state) return;
		this.peerStates.delete(peer);
		if (state.authenticated) this.emit('closed', peer);
	}

	private receive(peer: PeerId, data: Uint8Array): void {
		const state = this.peerStates.get(peer);
		let outcome: Outcome;
		try {
			if (!state) throw new SessionFrameError('frame from a peer without a channel');
			outcome = this.interpret(peer, state, data);
		} catch {
			// Whatever a peer sends cannot break the channel: the frame is dropped and counted.
			this.rejectedFrames++;
			return;
		}
		if (outcome.kind === 'authenticated') {
			this.emit('authenticated', peer);
			this.replayEarly(peer, state!);
		} else if (outcome.kind === 'keys-ready') {
			this.replayEarly(peer, state!);
		} else if (outcome.kind === 'data') {
			this.emit('message', { peer, data: outcome.data });
		}
	}

	private replayEarly(peer: PeerId, state: PeerState): void {
		for (const early of state.early.splice(0)) this.receive(peer, early);
	}

	private interpret(peer: PeerId, state: PeerState, data: Uint8Array): Outcome {
		const type = data[0];
		if (type === FRAME_HELLO) return this.interpretHello(peer, state, data);
		if (type !== FRAME_PROOF && type !== FRAME_DATA) throw new SessionFrameError(`unknown frame type ${type}`);
		if (!state.recvKey || (type === FRAME_DATA && !state.authenticated)) {
			if (state.early.length >= MAX_EARLY_FRAMES) throw new SessionFrameError('too many frames before the handshake');
			state.early.push(data);
			return { kind: 'held' };
		}
		const plaintext = open(state.recvKey, data.subarray(1));
		if (type === FRAME_DATA) return { kind: 'data', data: plaintext };
		if (!constantTimeEqual(plaintext, PROOF_TEXT)) throw new SessionFrameError('wrong proof');
		if (state.authenticated) return { kind: 'ignored' };
		state.authenticated = true;
		return { kind: 'authenticated' };
	}

	private interpretHello(peer: PeerId, state: PeerState, data: Uint8Array): Outcome {
		const decoder = decoding.createDecoder(data.subarray(1));
		const version = decoding.readUint8(decoder);
		const epoch = decoding.readVarUint(decoder);
		const peerNonce = decoding.readUint8Array(decoder, NONCE_LENGTH);
		if (version !== SESSION_VERSION) throw new SessionFrameError('unsupported session version');
		if (peerNonce.length !== NONCE_LENGTH || decoding.hasContent(decoder)) throw new SessionFrameError('malformed hello');
		if (state.sendKey) return { kind: 'ignored' }; // a duplicated hello changes nothing
		if (epoch !== this.key.epoch) throw new SessionFrameError('peer is on another key epoch');
		state.sendKey = deriveKey(this.key.syncKey, 'samen/v1/session', concatBytes(state.ownNonce, peerNonce));
		state.recvKey = deriveKey(this.key.syncKey, 'samen/v1/session', concatBytes(peerNonce, state.ownNonce));
		this.transport.send(peer, frame(FRAME_PROOF, seal(state.sendKey, PROOF_TEXT)));
		return { kind: 'keys-ready' };
	}
}

type Outcome =
	| { kind: 'held' | 'ignored' | 'keys-ready' | 'authenticated' }
	| { kind: 'data'; data: Uint8Array };

export class SessionFrameError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SessionFrameError';
	}
}

function frame(type: number, body: Uint8Array): Uint8Array {
	const out = new Uint8Array(body.length + 1);
	out[0] = type;
	out.set(body, 1);
	return out;
}

