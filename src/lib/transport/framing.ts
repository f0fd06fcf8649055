/**
 * Splits messages into data-channel chunks of at most 16 KiB (the size every WebRTC stack passes)
 * and joins them again. The channel is ordered and reliable, so one header byte suffices:
 *
 *   chunk = [0x00 more follows | 0x01 last chunk of this message][up to 16383 bytes]
 *   ping  = [0x02]   answered by   pong = [0x03]   (liveness, never part of a message)
 */
export const MAX_CHUNK_BYTES = 16 * 1024;
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
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

export function splitMessage(message: Uint8Array, chunkBytes = MAX_CHUNK_BYTES): Uint8Array[] {
	const room = chunkBytes - 1;
	const chunks: Uint8Array[] = [];
	for (let offset = 0; offset < message.length || chunks.length === 0; offset += room) {
		const part = message.subarray(offset, offset + room);
		const chunk = new Uint8Array(part.length + 1);
		chunk[0] = offset + room >= message.length ? LAST : MORE;
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
			this.reset();
			throw new FramingError('malformed chunk');
		}
		this.size += chunk.length - 1;
		if (this.size > MAX_MESSAGE_BYTES) {
			this.reset();
			throw new FramingError('message too large');
		}
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

	private reset(): void {
		this.parts = [];
		this.size = 0;
	}
}
