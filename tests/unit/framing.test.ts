import { describe, expect, it } from 'vitest';
import { FramingError, MAX_CHUNK_BYTES, Reassembler, splitMessage } from '../../src/lib/transport/framing';

describe('framing', () => {
	it.each([0, 1, MAX_CHUNK_BYTES - 1, MAX_CHUNK_BYTES, 5 * MAX_CHUNK_BYTES + 17])('round-trips %i bytes in chunks of at most 16 KiB', (size) => {
		const message = Uint8Array.from({ length: size }, (_, i) => i % 256);
		const chunks = splitMessage(message);
		expect(chunks.every((chunk) => chunk.length <= MAX_CHUNK_BYTES)).toBe(true);
		const reassembler = new Reassembler();
		const results = chunks.map((chunk) => reassembler.push(chunk));
		expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
		expect(results.at(-1)).toEqual(message);
	});

	it('rejects a malformed chunk and recovers for the next message', () => {
		const reassembler = new Reassembler();
		reassembler.push(splitMessage(new Uint8Array(MAX_CHUNK_BYTES * 2))[0]!);
		expect(() => reassembler.push(new Uint8Array([7, 1, 2]))).toThrow(FramingError);
		expect(() => reassembler.push(new Uint8Array(0))).toThrow(FramingError);
		expect(reassembler.push(splitMessage(new Uint8Array([4, 5]))[0]!)).toEqual(new Uint8Array([4, 5]));
	});
});
