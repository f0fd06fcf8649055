/**
 * The safety code's QR payload (src/lib/protocol/contacts.ts): what one side writes the other reads
 * back group for group, and nothing else reads as a safety code.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/lib/crypto';
import { readSafetyCode, writeInvite, writeSafetyCode } from '../../src/lib/protocol/contacts';
import { safetyCode } from '../../src/lib/people/safety';

const CODE = ['01234', '56789', '00000', '99999', '12345', '67890', '24680', '13579', '11111', '22222', '33333', '44444'];

describe('safety code payload', () => {
	it('reads back what was written, for fixed and derived codes', () => {
		expect(writeSafetyCode(CODE)).toBe(`samen-safety:1:${CODE.join('')}`);
		expect(readSafetyCode(writeSafetyCode(CODE))).toEqual(CODE);
		for (let round = 0; round < 20; round++) {
			const code = safetyCode(randomBytes(32), randomBytes(32));
			expect(readSafetyCode(writeSafetyCode(code))).toEqual(code);
		}
		// A scanner may hand over the text with white space around it.
		expect(readSafetyCode(` ${writeSafetyCode(CODE)}\n`)).toEqual(CODE);
	});

	it('writes only a code of 12 groups of 5 digits', () => {
		for (const code of [[], CODE.slice(1), [...CODE, '00000'], ['0123', ...CODE.slice(1)], ['012345', ...CODE.slice(1)], ['0123a', ...CODE.slice(1)], ['１２３４５', ...CODE.slice(1)]]) {
			expect(() => writeSafetyCode(code), JSON.stringify(code)).toThrow(expect.objectContaining({ name: 'ContactError', code: 'malformed' }));
		}
	});

	it('refuses what is no safety code: bare digits, other prefixes or versions, wrong lengths, non-digits, other QR payloads', () => {
		const digits = CODE.join('');
		const invite = writeInvite({ accountKey: new Uint8Array(32).fill(1), secret: new Uint8Array(16).fill(2), expiresAt: Date.now() + 1000, name: 'Ada' });
		const refused = [
			'',
			digits,
			`samen-safety:2:${digits}`,
			`samen-safety:${digits}`,
			`SAMEN-SAFETY:1:${digits}`,
			`samen-safety:1:${digits.slice(1)}`,
			`samen-safety:1:${digits}0`,
			`samen-safety:1:${digits.slice(0, 59)}x`,
			`samen-safety:1:${digits.slice(0, 59)}٣`,
			`samen-safety:1:${digits.slice(0, 30)} ${digits.slice(31)}`,
			`samen-safety:1:-${digits.slice(1)}`,
			`samen-safety:1:${digits}`.repeat(1000),
			invite,
			`https://samen.test/contacts/add#contact=${invite}`,
			'https://example.com/menu'
		];
		for (const text of refused) expect(() => readSafetyCode(text), text.slice(0, 80)).toThrow(expect.objectContaining({ name: 'ContactError', code: 'malformed' }));
	});
});
