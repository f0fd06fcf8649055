/**
 * The safety code two accounts compare to know they hold each other's real account key (and so
 * that no one in between swapped an invite): the same 60 digits on both sides.
 *
 *   code = SHA-256("samen/v1/safety" ‖ min(keyA, keyB) ‖ max(keyA, keyB)), first 30 bytes,
 *          as 12 groups of 5 digits, each group a 2.5-byte (20-bit) chunk mod 100,000
 */
import { hash } from '../crypto';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
	for (let index = 0; index < Math.min(a.length, b.length); index++) if (a[index] !== b[index]) return a[index]! - b[index]!;
	return a.length - b.length;
}

export function safetyCode(keyA: Uint8Array, keyB: Uint8Array): string[] {
	const [low, high] = compareBytes(keyA, keyB) <= 0 ? [keyA, keyB] : [keyB, keyA];
	const digest = hash(new TextEncoder().encode('samen/v1/safety'), low, high);
	const groups: string[] = [];
	for (let group = 0; group < 12; group++) {
		// 20 bits from the 2.5 bytes at 2.5 × group.
		const bit = group * 20;
		let value = 0;
		for (let offset = 0; offset < 20; offset++) {
			const index = bit + offset;
			value = value * 2 + ((digest[index >> 3]! >> (7 - (index & 7))) & 1);
		}
		groups.push(String(value % 100_000).padStart(5, '0'));
	}
	return groups;
}
