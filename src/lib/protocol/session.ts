/**
 * Peer session frames, inside a data channel between two devices (../transport/peer-session.ts
 * runs the exchange):
 *
 *   initiator → responder   HANDSHAKE [0x01][Noise message 1: e]
 *   responder → initiator   HANDSHAKE [0x01][Noise message 2: e, ee, s, es]
 *   initiator → responder   HANDSHAKE [0x01][Noise message 3: s, se, psk]
 *   each side, then         DATA [0x02][counter: u64 big-endian][ChaCha20-Poly1305(key, counter, ad = 0x02, pad([kind][body]))]
 *       kind 0x01 INTRODUCTION  the sender's newest device list and heartbeat (./trust.ts);
 *                               first DATA of a session, and again whenever they change
 *       kind 0x02 APPLICATION   anything above (document sync), only once both sides admitted each other
 *
 * pad() is ./padding.ts: the sealed part has one of a few sizes (256 B, 1, 4, 16 KiB, then multiples of 16 KiB).
 *
 * Limits, checked on both sides: a handshake message is at most MAX_HANDSHAKE_BYTES; a DATA frame
 * has at least its counter and a tag; a counter is at most MAX_COUNTER (2^64 − 1 is reserved by
 * Noise). A kind is one byte; the writer seals any, so that tests can play a peer that sends others,
 * and the reader takes only the two above.
 */
import { decryptAt, encryptAt } from '../crypto/noise';
import { concatBytes, TAG_BYTES } from '../crypto';
import { pad, PaddingError, unpad } from './padding';

export const FRAME_HANDSHAKE = 1;
export const FRAME_DATA = 2;
export const KIND_INTRODUCTION = 1;
export const KIND_APPLICATION = 2;
export const MAX_HANDSHAKE_BYTES = 1024;
/** The last counter a DATA frame may carry: 2^64 − 1 is reserved by Noise. */
export const MAX_COUNTER = 2n ** 64n - 2n;
const COUNTER_BYTES = 8;
const DATA_AD = new Uint8Array([FRAME_DATA]);

export type SessionFrame = { type: typeof FRAME_HANDSHAKE; message: Uint8Array } | { type: typeof FRAME_DATA; counter: bigint; sealed: Uint8Array };

export class SessionFrameError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SessionFrameError';
	}
}

export function writeHandshakeFrame(message: Uint8Array): Uint8Array {
	if (message.length > MAX_HANDSHAKE_BYTES) throw new SessionFrameError('handshake message too large');
	return concatBytes(new Uint8Array([FRAME_HANDSHAKE]), message);
}

/** Seals `[kind][body]` under the sender's transport key at `counter`. */
export function writeDataFrame(key: Uint8Array, counter: bigint, kind: number, body: Uint8Array): Uint8Array {
	// Checked here: DataView would wrap a counter out of range, and Uint8Array a kind (0x102 would be sealed as 0x02).
	if (counter < 0n || counter > MAX_COUNTER) throw new SessionFrameError('counter out of range');
	if (!Number.isInteger(kind) || kind < 0 || kind > 0xff) throw new SessionFrameError('a kind is one byte');
	const header = new Uint8Array(1 + COUNTER_BYTES);
	header[0] = FRAME_DATA;
	new DataView(header.buffer).setBigUint64(1, counter);
	return concatBytes(header, encryptAt(key, counter, DATA_AD, pad(concatBytes(new Uint8Array([kind]), body))));
}

/** Splits a frame; the DATA frame's seal is opened by `openDataFrame` once the counter passed the replay check. */
export function readSessionFrame(data: Uint8Array): SessionFrame {
	if (data[0] === FRAME_HANDSHAKE) {
		if (data.length - 1 > MAX_HANDSHAKE_BYTES) throw new SessionFrameError('handshake message too large');
		return { type: FRAME_HANDSHAKE, message: data.subarray(1) };
	}
	if (data[0] === FRAME_DATA) {
		if (data.length < 1 + COUNTER_BYTES + TAG_BYTES) throw new SessionFrameError('short data frame');
		const counter = new DataView(data.buffer, data.byteOffset + 1, COUNTER_BYTES).getBigUint64(0);
		if (counter > MAX_COUNTER) throw new SessionFrameError('counter out of range');
		return { type: FRAME_DATA, counter, sealed: data.subarray(1 + COUNTER_BYTES) };
	}
	throw new SessionFrameError(`unknown frame type ${data[0]}`);
}

/** The kind and body of a DATA frame; throws when it does not open under `key` at its counter. */
export function openDataFrame(key: Uint8Array, frame: { counter: bigint; sealed: Uint8Array }): { kind: number; body: Uint8Array } {
	let plain: Uint8Array;
	try {
		plain = unpad(decryptAt(key, frame.counter, DATA_AD, frame.sealed));
	} catch (error) {
		if (error instanceof PaddingError) throw new SessionFrameError(error.message);
		throw error;
	}
	if (plain.length === 0) throw new SessionFrameError('empty data frame');
	const kind = plain[0]!;
	if (kind !== KIND_INTRODUCTION && kind !== KIND_APPLICATION) throw new SessionFrameError(`unknown data kind ${kind}`);
	return { kind, body: plain.subarray(1) };
}
