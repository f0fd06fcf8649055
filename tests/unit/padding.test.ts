import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/lib/crypto';
import { bucketFor, pad, PaddingError, unpad } from '../../src/lib/protocol/padding';
import { KIND_APPLICATION, readSessionFrame, writeDataFrame } from '../../src/lib/protocol/session';
import { sealMailboxEntry } from '../../src/lib/protocol/mailbox-entry';

describe('padding to a few sizes', () => {
	it('round-trips, and gives contents of different lengths the same size within a bucket', () => {
		for (const length of [0, 1, 150, 253, 254, 1000, 5000, 16381, 16382, 40000]) {
			const content = randomBytes(length);
			const padded = pad(content);
			expect(padded.length).toBe(bucketFor(length + (length < 128 ? 1 : length < 16384 ? 2 : 3)));
			expect(Buffer.compare(unpad(padded), content)).toBe(0);
		}
		expect(pad(new Uint8Array(1)).length).toBe(pad(new Uint8Array(150)).length);
		expect(pad(new Uint8Array(600)).length).toBe(1024);
		// Padmé: 20,003 bytes (a 3-byte length first) keep their top 4 + 1 bits: a step of 1,024.
		expect(pad(new Uint8Array(20000)).length).toBe(20480);
	});

	it('costs at most 12 % above 1 KiB, and leaves few sizes to tell apart', () => {
		const sizes = new Set<number>();
		for (let length = 1025; length <= 1 << 22; length += 97) {
			const bucket = bucketFor(length);
			expect(bucket).toBeGreaterThanOrEqual(length);
			expect(bucket / length).toBeLessThanOrEqual(1.12);
			sizes.add(bucket);
		}
		// Some 43,000 lengths between 1 KiB and 4 MiB fall into a few hundred sizes.
		expect(sizes.size).toBeLessThan(300);
	});

	it('stops at a limit, and refuses content over it', () => {
		expect(pad(new Uint8Array(20000), 20100).length).toBe(20100);
		expect(pad(new Uint8Array(20000), 30000).length).toBe(20480);
		expect(() => pad(new Uint8Array(30000), 30000)).toThrow(PaddingError);
	});

	it('refuses a length past the end and padding that is not zeros', () => {
		expect(() => unpad(new Uint8Array([5, 1, 2]))).toThrow(PaddingError);
		expect(() => unpad(new Uint8Array([1, 7, 0, 1]))).toThrow(PaddingError);
		expect(() => unpad(new Uint8Array([]))).toThrow(PaddingError);
	});

	it('a short and a longer message seal to the same size, on the wire and in the mailbox', () => {
		const key = randomBytes(32);
		const frame = (text: string) => writeDataFrame(key, 1n, KIND_APPLICATION, new TextEncoder().encode(text)).length;
		expect(frame('a')).toBe(frame('x'.repeat(150)));
		const entry = (text: string) => sealMailboxEntry(key, 'r'.repeat(32), { kind: 'update', topic: 'chat/self/2026-11', update: new TextEncoder().encode(text) }).length;
		expect(entry('a')).toBe(entry('x'.repeat(150)));
		expect(readSessionFrame(writeDataFrame(key, 1n, KIND_APPLICATION, new Uint8Array(1))).type).toBe(2);
	});
});
