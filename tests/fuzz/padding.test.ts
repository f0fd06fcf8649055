/**
 * unpad (src/lib/protocol/padding.ts), which every sealed session frame and mailbox entry goes
 * through once opened: it may only throw PaddingError, and what it returns is what pad was given.
 */
import { describe, expect, it } from 'vitest';
import { pad, PaddingError, unpad } from '../../src/lib/protocol/padding';
import { fuzz, fuzzSeed, logReport, mixed, mutate, randomBytesInput, sameBytes, seededRandom, varUint } from './fuzz';

describe('fuzz: padding', () => {
	it('unpad returns the content pad was given, or throws PaddingError', () => {
		const seed = fuzzSeed(0xbad_8001);
		const random = seededRandom(seed);
		const contents = [0, 1, 200, 253, 254, 255, 1000, 5000].map((length) => random.bytes(length));
		const padded = contents.map((content) => pad(content));
		const inputs = mixed(random, 10_000, [
			[5, (r) => mutate(r, r.pick(padded), padded)],
			[2, (r) => randomBytesInput(r, 600, [0, 1, 0x80, 0xff])],
			[1, (r) => Uint8Array.from([...varUint(r.pick([0, 1, 255, 256, 2 ** 31, 2 ** 53 - 1])), ...new Uint8Array(r.below(300))])],
			[2, (r) => pad(r.bytes(r.below(2000)))]
		]);
		/** Accepted inputs whose length prefix is not the shortest form (lib0 reads those too). */
		let longPrefixes = 0;
		const report = fuzz({
			suite: 'unpad',
			seed,
			inputs,
			allowed: [PaddingError],
			run: unpad,
			check: (value, input) => {
				const content = value as Uint8Array;
				const prefix = varUint(content.length);
				if (!sameBytes(input.subarray(0, prefix.length), prefix)) {
					longPrefixes++;
					return;
				}
				// [length][content][zeros]: the content is what follows the prefix, and only zeros follow it.
				expect(sameBytes(input.subarray(prefix.length, prefix.length + content.length), content)).toBe(true);
				expect(input.subarray(prefix.length + content.length).every((byte) => byte === 0)).toBe(true);
			}
		});
		logReport('unpad', report, `${longPrefixes} with a longer length prefix than needed`);
		expect(report.inputs).toBe(10_000);
		expect(report.accepted).toBeGreaterThan(1000);
	});
});
