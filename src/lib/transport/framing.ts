/**
 * Splits messages into data-channel chunks of at most 16 KiB (the size every WebRTC stack passes)
 * and joins them again. The channel is ordered and reliable, so one header byte suffices:
 *
 *   chunk = [0x00 more follows | 0x01 last chunk of this message][payload]
 *   ping  = [0x02]   answered by   pong = [0x03]   (liveness, never part of a message)
 *
 * A message of n bytes goes out as ceil(n / 16383) chunks (one empty LAST chunk when n = 0): every
 * MORE chunk carries a full 16383-byte payload, the LAST chunk the rest.
 *
 * Limits, checked by the receiver on every chunk before it keeps anything: a chunk is 1 to
 * MAX_CHUNK_BYTES bytes; a MORE chunk carries at least one payload byte; a message is at most
 * MAX_MESSAGE_BYTES bytes in at most MAX_MESSAGE_CHUNKS chunks (what the largest message takes
 * when split as above). So a peer can make the receiver hold at most one message's worth of
 * payload and MAX_MESSAGE_CHUNKS chunk views, however it cuts its chunks. A chunk past any limit
 * throws FramingError and drops the message it belonged to; the next chunk starts a new message.
 */
export const MAX_CHUNK_BYTES = 16 * 1024;
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const PAYLOAD_BYTES = MAX_CHUNK_BYTES - 1;
export const MAX_MESSAGE_CHUNKS = Math.ceil(MAX_MESSAGE_BYTES / PAYLOAD_BYTES);
const MORE = 0;
const LAST = 1;
export const PING = new Uint8Array([2]);
export const PONG = new Uint8Array([3]);

export function isPing(chunk: Uint8Array): boolean {
	return chunk.length === 1 && chunk[0] === PING[0];
}

export function isPong(chunk: Uint8Array): boolean {
	return chunk.length === 1 && chunk[0] === PONG[0];
}

export function splitMessage(message: Uint8Array): Uint8Array[] {
	const chunks: Uint8Array[] = [];
	for (let offset = 0; offset < message.length || chunks.length === 0; offset += PAYLOAD_BYTES) {
		const part = message.subarray(offset, offset + PAYLOAD_BYTES);
		const chunk = new Uint8Array(part.length + 1);
		chunk[0] = offset + PAYLOAD_BYTES >= message.length ? LAST : MORE;
		chunk.set(part, 1);
		chunks.push(chunk);
	}
	return chunks;
}

export class FramingError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'FramingError';
	}
}

export class Reassembler {
	private parts: Uint8Array[] = [];
	private size = 0;

	/** Returns the whole message when `chunk` completes one; throws FramingError and resets on bad input. */
	push(chunk: Uint8Array): Uint8Array | undefined {
		const flag = chunk[0];
		if (chunk.length === 0 || chunk.length > MAX_CHUNK_BYTES || (flag !== MORE && flag !== LAST)) {
			return this.refuse('malformed chunk');
		}
		if (flag === MORE && chunk.length === 1) return this.refuse('empty continuation chunk');
		if (this.parts.length + 1 > MAX_MESSAGE_CHUNKS) return this.refuse('message in too many chunks');
		if (this.size + chunk.length - 1 > MAX_MESSAGE_BYTES) return this.refuse('message too large');
		this.size += chunk.length - 1;
		this.parts.push(chunk.subarray(1));
		if (flag === MORE) return undefined;
		const message = new Uint8Array(this.size);
		let offset = 0;
		for (const part of this.parts) {
			message.set(part, offset);
			offset += part.length;
		}
		this.reset();
		return message;
	}

	private refuse(reason: string): never {
		this.reset();
		throw new FramingError(reason);
	}

	private reset(): void {
		this.parts = [];
		this.size = 0;
	}
}
